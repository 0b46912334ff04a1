package response

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
)

// scanMode says what the root element of a scanned document must be.
type scanMode uint8

const (
	modeResponse  scanMode = iota // a samlp:Response as posted by the IdP
	modeAssertion                 // a saml:Assertion, the plaintext of an EncryptedAssertion
)

// sigInfo is what the scan saw in one ds:Signature. It is unverified input:
// Parse uses it to apply the algorithm policy before any cryptography and to
// choose the error an admin sees; goxmldsig decides whether it verifies.
type sigInfo struct {
	parentID   string   // the ID attribute of the element the Signature is a child of
	signedInfo int      // number of ds:SignedInfo children
	c14n       []string // CanonicalizationMethod/@Algorithm
	methods    []string // SignatureMethod/@Algorithm
	refs       []string // Reference/@URI
	digests    []string // DigestMethod/@Algorithm
	transforms []string // Transform/@Algorithm
	keyInfo    bool     // a ds:KeyInfo child is present
	cert       string   // text of the first X509Certificate inside KeyInfo
	certSeen   bool
}

// scanResult is the outcome of a successful scan.
type scanResult struct {
	rootID       string
	assertions   int // Assertion or EncryptedAssertion children of the root Response
	encrypted    bool
	assertionID  string
	responseSig  *sigInfo
	assertionSig *sigInfo
	encAlgs      []string // Algorithm of EncryptionMethod, DigestMethod, MGF inside EncryptedAssertion
}

type elemKind uint8

const (
	kindOther     elemKind = iota
	kindRoot               // the document element
	kindAssertion          // the Assertion child of the root Response
	kindEncrypted          // the EncryptedAssertion child of the root Response
	kindSignature          // a Signature in one of its legal places
)

type frame struct {
	prefix, local string // as written, to match the end tag
	ns            string
	id            string
	nsMark        int // len(bindings) before this element's declarations
	kind          elemKind
	children      int  // element children seen so far
	onlyIssuer    bool // every element child so far was saml:Issuer
	hasSignature  bool
}

type binding struct{ prefix, uri string }

// scanner is the single streaming pass over untrusted bytes that happens
// before anything builds a tree. See the package documentation for why each
// rule exists.
type scanner struct {
	mode     scanMode
	maxElems int
	maxDepth int

	stack    []frame
	bindings []binding
	ids      map[string]struct{}
	nsDecls  int
	elems    int
	rootSeen bool
	rootDone bool
	tokens   int

	sig        *sigInfo // the allowed Signature we are inside, if any
	sigDepth   int
	keyInfoAt  int // depth of the Signature's KeyInfo, 0 if not inside one
	certAt     int // depth of the X509Certificate being captured, 0 if none
	certText   strings.Builder
	encAt      int // depth of the EncryptedAssertion, 0 if not inside one
	res        scanResult
	attrLocals []string
}

// scan checks data in one pass of encoding/xml's tokenizer. It never builds a
// tree and never expands anything: encoding/xml knows only the five
// predefined entities and character references.
func scan(data []byte, mode scanMode, maxElems, maxDepth int) (*scanResult, error) {
	s := &scanner{mode: mode, maxElems: maxElems, maxDepth: maxDepth, ids: map[string]struct{}{}}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, failErr(ReasonMalformed, "the XML is not well-formed", err)
		}
		s.tokens++
		if err := s.token(tok); err != nil {
			return nil, err
		}
	}
	if !s.rootSeen {
		return nil, fail(ReasonMalformed, "the document has no root element")
	}
	if len(s.stack) != 0 {
		return nil, fail(ReasonMalformed, "the document ends inside <"+s.stack[len(s.stack)-1].local+">")
	}
	return &s.res, nil
}

func (s *scanner) token(tok xml.Token) error {
	switch t := tok.(type) {
	case xml.StartElement:
		return s.start(t)
	case xml.EndElement:
		return s.end(t)
	case xml.CharData:
		if len(s.stack) == 0 {
			if len(bytes.TrimSpace(t)) != 0 {
				return fail(ReasonMalformed, "text outside the root element")
			}
			return nil
		}
		if s.certAt != 0 {
			s.certText.Write(t)
		}
		return nil
	case xml.Comment:
		// Comments are harmless here: text() concatenates around them, and
		// exclusive c14n without comments drops them before digesting.
		return nil
	case xml.ProcInst:
		// encoding/xml has already checked the declaration's version and
		// refused any encoding but UTF-8.
		if t.Target == "xml" && s.tokens == 1 {
			return nil
		}
		return fail(ReasonForbiddenXML, "processing instruction <?"+t.Target+"?> is not allowed")
	case xml.Directive:
		return fail(ReasonForbiddenXML, "DOCTYPE, ENTITY and other <!…> declarations are not allowed")
	}
	return fail(ReasonMalformed, "unexpected XML token")
}

func (s *scanner) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	for i := len(s.bindings) - 1; i >= 0; i-- {
		if s.bindings[i].prefix == prefix {
			return s.bindings[i].uri, true
		}
	}
	return "", prefix == "" // no default namespace in scope: the empty namespace
}

func (s *scanner) path(local string) string {
	var b strings.Builder
	for _, f := range s.stack {
		b.WriteString("/")
		b.WriteString(f.local)
	}
	b.WriteString("/")
	b.WriteString(local)
	return b.String()
}

func (s *scanner) start(t xml.StartElement) error {
	s.elems++
	if s.elems > s.maxElems {
		return fail(ReasonTooLarge, "more than "+itoa(s.maxElems)+" XML elements")
	}
	depth := len(s.stack) + 1
	if depth > s.maxDepth {
		return fail(ReasonTooLarge, "XML nested deeper than "+itoa(s.maxDepth)+" elements")
	}
	if s.rootDone {
		return fail(ReasonMalformed, "a second element after the root element")
	}
	if len(t.Attr) > maxAttrsPerElement {
		return fail(ReasonTooLarge, "more than "+itoa(maxAttrsPerElement)+" attributes on <"+t.Name.Local+">")
	}

	// Namespace declarations first: they apply to this element's own name.
	mark := len(s.bindings)
	for _, a := range t.Attr {
		var prefix string
		switch {
		case a.Name.Space == "xmlns":
			prefix = a.Name.Local
			if prefix == "xmlns" || prefix == "" || strings.Contains(prefix, ":") ||
				(prefix == "xml") != (a.Value == nsXML) || a.Value == "" || a.Value == nsXMLNS {
				return fail(ReasonMalformed, "invalid namespace declaration xmlns:"+prefix)
			}
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			if a.Value == nsXML || a.Value == nsXMLNS {
				return fail(ReasonMalformed, "invalid default namespace declaration")
			}
		default:
			continue
		}
		s.nsDecls++
		if s.nsDecls > maxNamespaceDecls {
			return fail(ReasonTooLarge, "more than "+itoa(maxNamespaceDecls)+" namespace declarations")
		}
		s.bindings = append(s.bindings, binding{prefix, a.Value})
	}

	local := t.Name.Local
	if local == "" || strings.Contains(local, ":") {
		return fail(ReasonMalformed, "invalid element name "+t.Name.Space+":"+local)
	}
	ns, ok := s.lookup(t.Name.Space)
	if !ok {
		return fail(ReasonMalformed, "undeclared namespace prefix "+t.Name.Space+" on <"+local+">")
	}

	// Other attributes: bound prefixes, no duplicate local names (a parser
	// keeping the first and one keeping the last would disagree; etree keeps
	// the last), and collect the ID.
	var id string
	s.attrLocals = s.attrLocals[:0]
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		if a.Name.Local == "" || strings.Contains(a.Name.Local, ":") {
			return fail(ReasonMalformed, "invalid attribute name on <"+local+">")
		}
		if a.Name.Space != "" {
			if _, ok := s.lookup(a.Name.Space); !ok {
				return fail(ReasonMalformed, "undeclared namespace prefix "+a.Name.Space+" on an attribute of <"+local+">")
			}
		}
		for _, l := range s.attrLocals {
			if l == a.Name.Local {
				return fail(ReasonMalformed, "duplicate attribute "+a.Name.Local+" on <"+local+">")
			}
		}
		s.attrLocals = append(s.attrLocals, a.Name.Local)
		if a.Name.Space == "" && a.Name.Local == "ID" {
			id = a.Value
			if _, dup := s.ids[id]; dup {
				return fail(ReasonStructure, "two elements share the ID "+quote(id))
			}
			s.ids[id] = struct{}{}
		}
	}

	kind, err := s.classify(ns, local, id, depth)
	if err != nil {
		return err
	}
	if n := len(s.stack); n > 0 {
		p := &s.stack[n-1]
		p.children++
		p.onlyIssuer = p.onlyIssuer && ns == nsSAML && local == "Issuer"
	}
	s.stack = append(s.stack, frame{
		prefix: t.Name.Space, local: local, ns: ns, id: id,
		nsMark: mark, kind: kind, onlyIssuer: true,
	})
	if s.sig != nil && depth > s.sigDepth {
		if err := s.signatureChild(ns, local, t.Attr, depth); err != nil {
			return err
		}
	}
	if s.encAt != 0 && depth > s.encAt {
		switch local {
		case "EncryptionMethod", "DigestMethod", "MGF":
			s.res.encAlgs = append(s.res.encAlgs, algorithm(t.Attr))
		}
	}
	return nil
}

// classify enforces where the security-relevant elements may appear: the
// root, the one Assertion or EncryptedAssertion, and Signatures.
func (s *scanner) classify(ns, local, id string, depth int) (elemKind, error) {
	if len(s.stack) == 0 {
		s.rootSeen = true
		s.res.rootID = id
		switch {
		case s.mode == modeResponse && ns == nsSAMLP && local == "Response":
			return kindRoot, nil
		case s.mode == modeAssertion && ns == nsSAML && local == "Assertion":
			return kindRoot, nil
		case s.mode == modeResponse:
			return 0, fail(ReasonMalformed, "the document is a <"+local+"> in namespace "+quote(ns)+", not a SAML 2.0 Response")
		default:
			return 0, fail(ReasonMalformed, "the decrypted content is a <"+local+">, not a SAML 2.0 Assertion")
		}
	}
	parent := &s.stack[len(s.stack)-1]
	switch {
	case ns == nsSAML && (local == "Assertion" || local == "EncryptedAssertion"):
		if s.mode != modeResponse || parent.kind != kindRoot {
			return 0, fail(ReasonStructure, "an "+local+" may appear only as a direct child of the Response; found one at "+s.path(local))
		}
		s.res.assertions++
		if s.res.assertions > 1 {
			return 0, fail(ReasonStructure, "the Response contains more than one assertion")
		}
		if local == "EncryptedAssertion" {
			s.res.encrypted = true
			s.encAt = depth
			return kindEncrypted, nil
		}
		s.res.assertionID = id
		return kindAssertion, nil
	case ns == nsSAMLP && local == "Response":
		return 0, fail(ReasonStructure, "a Response nested inside the document at "+s.path(local))
	case ns == nsDSig && local == "Signature":
		if parent.kind != kindRoot && parent.kind != kindAssertion {
			return 0, fail(ReasonStructure, "a Signature may appear only in the Response or the Assertion; found one at "+s.path(local))
		}
		if parent.hasSignature {
			return 0, fail(ReasonStructure, "two Signatures in "+parent.local)
		}
		if parent.children > 1 || (parent.children == 1 && !parent.onlyIssuer) {
			return 0, fail(ReasonStructure, "the Signature in "+parent.local+" must directly follow its Issuer")
		}
		parent.hasSignature = true
		si := &sigInfo{parentID: parent.id}
		if s.mode == modeResponse && parent.kind == kindRoot {
			s.res.responseSig = si
		} else {
			s.res.assertionSig = si
		}
		s.sig, s.sigDepth = si, depth
		return kindSignature, nil
	}
	return kindOther, nil
}

// signatureChild records the parts of a Signature the policy looks at.
// Algorithm-bearing elements are matched by local name in any namespace, so
// a namespace trick cannot hide an algorithm from the policy.
func (s *scanner) signatureChild(ns, local string, attrs []xml.Attr, depth int) error {
	si := s.sig
	parent := s.stack[len(s.stack)-2]
	switch local {
	case "SignedInfo":
		if ns == nsDSig && parent.kind == kindSignature {
			si.signedInfo++
		}
	case "CanonicalizationMethod":
		si.c14n = append(si.c14n, algorithm(attrs))
	case "SignatureMethod":
		si.methods = append(si.methods, algorithm(attrs))
	case "Reference":
		si.refs = append(si.refs, plainAttr(attrs, "URI"))
	case "Transform":
		si.transforms = append(si.transforms, algorithm(attrs))
	case "DigestMethod":
		si.digests = append(si.digests, algorithm(attrs))
	case "KeyInfo":
		if ns == nsDSig && parent.kind == kindSignature {
			si.keyInfo = true
			s.keyInfoAt = depth
		}
	case "X509Certificate":
		if ns == nsDSig && s.keyInfoAt != 0 && !si.certSeen {
			si.certSeen = true
			s.certAt = depth
			s.certText.Reset()
		}
	case "Object", "Manifest":
		// SAML never uses them; XSW8 hides the original assertion in one.
		return fail(ReasonStructure, "a Signature contains "+local+", which SAML does not use")
	}
	return nil
}

func (s *scanner) end(t xml.EndElement) error {
	n := len(s.stack)
	if n == 0 {
		return fail(ReasonMalformed, "unexpected end tag </"+t.Name.Local+">")
	}
	top := s.stack[n-1]
	if t.Name.Space != top.prefix || t.Name.Local != top.local {
		return fail(ReasonMalformed, "end tag </"+t.Name.Local+"> does not match <"+top.local+">")
	}
	switch n {
	case s.certAt:
		s.sig.cert = s.certText.String()
		s.certAt = 0
	case s.keyInfoAt:
		s.keyInfoAt = 0
	case s.sigDepth:
		s.sig, s.sigDepth = nil, 0
	case s.encAt:
		s.encAt = 0
	}
	s.bindings = s.bindings[:top.nsMark]
	s.stack = s.stack[:n-1]
	if n == 1 {
		s.rootDone = true
	}
	return nil
}

func algorithm(attrs []xml.Attr) string { return plainAttr(attrs, "Algorithm") }

func plainAttr(attrs []xml.Attr, key string) string {
	for _, a := range attrs {
		if a.Name.Space == "" && a.Name.Local == key {
			return a.Value
		}
	}
	return ""
}

func itoa(i int) string { return strconv.Itoa(i) }

// quote quotes untrusted text for a Detail, bounded so a hostile document
// cannot flood the audit log.
func quote(v string) string {
	const max = 120
	if len(v) > max {
		v = v[:max] + "…"
	}
	return strconv.Quote(v)
}
