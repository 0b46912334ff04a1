package response

import (
	dsig "github.com/russellhaering/goxmldsig"
)

// Algorithm identifiers. The signature and digest URIs are goxmldsig's, so
// the policy and the verifier agree on spelling.
const (
	digestSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	digestSHA224 = "http://www.w3.org/2001/04/xmldsig-more#sha224"
	digestSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	digestSHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	digestSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"

	c14nExclusive             = string(dsig.CanonicalXML10ExclusiveAlgorithmId)
	c14nExclusiveWithComments = string(dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId)
	transformEnveloped        = string(dsig.EnvelopedSignatureAltorithmId)

	encRSAOAEPMGF1P = nsXEnc + "rsa-oaep-mgf1p"
	encRSAOAEP      = nsXEnc11 + "rsa-oaep"
	encRSA15        = nsXEnc + "rsa-1_5"
	encAES128CBC    = nsXEnc + "aes128-cbc"
	encAES192CBC    = nsXEnc + "aes192-cbc"
	encAES256CBC    = nsXEnc + "aes256-cbc"
	encAES128GCM    = nsXEnc11 + "aes128-gcm"
	encAES192GCM    = nsXEnc11 + "aes192-gcm"
	encAES256GCM    = nsXEnc11 + "aes256-gcm"
	enc3DES         = nsXEnc + "tripledes-cbc"
	mgf1SHA1        = nsXEnc11 + "mgf1sha1"
	mgf1SHA224      = nsXEnc11 + "mgf1sha224"
	mgf1SHA256      = nsXEnc11 + "mgf1sha256"
	mgf1SHA384      = nsXEnc11 + "mgf1sha384"
	mgf1SHA512      = nsXEnc11 + "mgf1sha512"
)

// sha1Advice is the part of the SHA-1 error an IdP admin acts on.
const sha1Advice = "; set the signature algorithm to RSA-SHA256 and the digest to SHA-256 in the IdP " +
	"(OneLogin: SAML Signature Algorithm; Okta: Signature Algorithm and Digest Algorithm; " +
	"Entra ID: Signing Algorithm; AD FS: Secure hash algorithm), or allow SHA-1 for this workspace"

// checkSignaturePolicy applies the algorithm allow-list and the SAML
// profile's shape rules to one Signature, before any cryptography:
//   - exactly one SignedInfo and one Reference, and the Reference is
//     "#" + the ID of the element the Signature sits in (SAML core §5.4.2),
//     so a signature can only ever vouch for its own parent;
//   - exclusive c14n, with or without comments, as CanonicalizationMethod
//     and as the only transform besides enveloped-signature (SAML core
//     §5.4.3-4); inclusive c14n drags ancestor namespaces into the digest;
//   - RSA or ECDSA with SHA-256/384/512, digests SHA-256/384/512; SHA-1
//     only when the workspace opted in.
func checkSignaturePolicy(si *sigInfo, what string, allowSHA1 bool) error {
	if si.signedInfo != 1 {
		return fail(ReasonSignature, "the "+what+" Signature must contain exactly one SignedInfo")
	}
	if len(si.refs) != 1 || len(si.digests) != 1 || len(si.methods) != 1 || len(si.c14n) != 1 {
		return fail(ReasonStructure, "the "+what+" Signature must have exactly one Reference, DigestMethod, SignatureMethod and CanonicalizationMethod")
	}
	if si.parentID == "" || si.refs[0] != "#"+si.parentID {
		return fail(ReasonStructure, "the "+what+" Signature references "+quote(si.refs[0])+", not its own "+what+" (ID "+quote(si.parentID)+")")
	}
	switch si.c14n[0] {
	case c14nExclusive, c14nExclusiveWithComments:
	default:
		return fail(ReasonAlgorithm, "the "+what+" Signature uses canonicalization "+quote(si.c14n[0])+"; only exclusive c14n is allowed")
	}
	if len(si.transforms) > 2 {
		return fail(ReasonAlgorithm, "the "+what+" Signature has more transforms than enveloped-signature and exclusive c14n")
	}
	for _, t := range si.transforms {
		switch t {
		case transformEnveloped, c14nExclusive, c14nExclusiveWithComments:
		default:
			return fail(ReasonAlgorithm, "the "+what+" Signature uses transform "+quote(t)+"; only enveloped-signature and exclusive c14n are allowed")
		}
	}
	switch m := si.methods[0]; m {
	case dsig.RSASHA256SignatureMethod, dsig.RSASHA384SignatureMethod, dsig.RSASHA512SignatureMethod,
		dsig.ECDSASHA256SignatureMethod, dsig.ECDSASHA384SignatureMethod, dsig.ECDSASHA512SignatureMethod:
	case dsig.RSASHA1SignatureMethod, dsig.ECDSASHA1SignatureMethod:
		if !allowSHA1 {
			name := "RSA-SHA1"
			if m == dsig.ECDSASHA1SignatureMethod {
				name = "ECDSA-SHA1"
			}
			return fail(ReasonSHA1, "the IdP signed the "+what+" with "+name+sha1Advice)
		}
	default:
		return fail(ReasonAlgorithm, "the "+what+" Signature uses signature method "+quote(m)+"; allowed are RSA and ECDSA with SHA-256, SHA-384 or SHA-512")
	}
	switch d := si.digests[0]; d {
	case digestSHA256, digestSHA384, digestSHA512:
	case digestSHA1:
		if !allowSHA1 {
			return fail(ReasonSHA1, "the IdP digested the "+what+" with SHA-1"+sha1Advice)
		}
	default:
		return fail(ReasonAlgorithm, "the "+what+" Signature uses digest "+quote(d)+"; allowed are SHA-256, SHA-384 and SHA-512")
	}
	return nil
}

// checkEncryptionPolicy rejects RSA PKCS#1 v1.5 key transport
// (Bleichenbacher's oracle), 3DES, and anything not implemented here, before
// any private-key operation.
func checkEncryptionPolicy(algs []string) error {
	for _, a := range algs {
		switch a {
		case encRSAOAEPMGF1P, encRSAOAEP,
			encAES128CBC, encAES192CBC, encAES256CBC, encAES128GCM, encAES192GCM, encAES256GCM,
			digestSHA1, digestSHA224, digestSHA256, digestSHA384, digestSHA512,
			mgf1SHA1, mgf1SHA224, mgf1SHA256, mgf1SHA384, mgf1SHA512:
		case encRSA15:
			return fail(ReasonAlgorithm, "the assertion key is encrypted with RSA PKCS#1 v1.5, which is refused; set the IdP's key encryption (key transport) algorithm to RSA-OAEP")
		case enc3DES:
			return fail(ReasonAlgorithm, "the assertion is encrypted with 3DES, which is refused; set the IdP's data encryption algorithm to AES-256-GCM, AES-128-GCM or AES-256-CBC")
		case "":
			return fail(ReasonAlgorithm, "an EncryptionMethod in the EncryptedAssertion has no Algorithm")
		default:
			return fail(ReasonAlgorithm, "the EncryptedAssertion uses algorithm "+quote(a)+", which this SP does not support; use RSA-OAEP with AES-GCM or AES-CBC")
		}
	}
	return nil
}
