package response

import (
	"crypto/x509"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/beevik/etree"
)

const nsXSI = "http://www.w3.org/2001/XMLSchema-instance"

// Assertion is what Parse returns for an accepted Response: the identity and
// the facts the caller needs for its own checks (pending request, replay
// cache, session lifetime). Every field comes from signature-verified XML,
// except where a field's comment says otherwise.
type Assertion struct {
	// ResponseID is the Response's ID. It is covered by a signature only
	// when ResponseSigned; use it for logging, not for decisions.
	ResponseID string
	// AssertionID is the Assertion's ID: with the workspace, the replay-cache
	// key (SAML profiles §4.1.4.5 one-time use of bearer assertions).
	AssertionID string
	// InResponseTo is the AuthnRequest ID this answers: the accepted bearer
	// SubjectConfirmationData's InResponseTo, which is always signed, or else
	// the Response's (signed only when ResponseSigned). Empty for an
	// IdP-initiated (unsolicited) login.
	InResponseTo string
	// Issuer is the IdP entity ID; always equal to Config.IdPEntityID.
	Issuer string

	// NameID is the subject's saml:NameID value, exactly as signed.
	NameID string
	// NameIDFormat is the NameID Format attribute, possibly empty. Any value
	// is accepted (JumpCloud sends a SAML 1.0 URN).
	NameIDFormat string
	// NameQualifier and SPNameQualifier are the NameID's qualifiers, if
	// any; a LogoutRequest must repeat them.
	NameQualifier   string
	SPNameQualifier string

	// SessionIndex, AuthnInstant and SessionNotOnOrAfter come from the first
	// AuthnStatement. SessionNotOnOrAfter is zero when absent; when set the
	// caller should not let its session outlive it.
	SessionIndex        string
	AuthnInstant        time.Time
	SessionNotOnOrAfter time.Time

	// Attributes maps an Attribute Name to its values, in document order.
	// Attributes repeated under the same Name are merged.
	Attributes map[string]Attribute

	// IssueInstant is the Assertion's IssueInstant.
	IssueInstant time.Time
	// NotOnOrAfter is how long the caller must remember AssertionID in its
	// replay cache: the later of the accepted SubjectConfirmationData's and
	// the Conditions' NotOnOrAfter, plus the clock skew. After it, Parse
	// rejects the assertion on its own.
	NotOnOrAfter time.Time

	// ResponseSigned and AssertionSigned say which signatures were present
	// and verified; at least one is true.
	ResponseSigned  bool
	AssertionSigned bool
	// Encrypted is true when the assertion arrived as an EncryptedAssertion.
	Encrypted bool
	// Certificate is the trusted IdP certificate that verified the
	// assertion's signature (or the Response's, when only it was signed):
	// record it to tell when an old certificate can be retired.
	Certificate *x509.Certificate
}

// Attribute is one SAML attribute. FriendlyName is a display hint only;
// match on Name.
type Attribute struct {
	Name         string
	NameFormat   string
	FriendlyName string
	Values       []string
}

// First returns the first value of the attribute called name, or "".
func (a *Assertion) First(name string) string {
	if at, ok := a.Attributes[name]; ok && len(at.Values) > 0 {
		return at.Values[0]
	}
	return ""
}

// checkIssueInstant applies the IssueInstant window: not in the future beyond the
// skew, and not older than the skew plus MaxIssueDelay.
func (s *settings) checkIssueInstant(el *etree.Element, what string) (time.Time, error) {
	v, ok := attr(el, "IssueInstant")
	if !ok {
		return time.Time{}, fail(ReasonMalformed, "the "+what+" has no IssueInstant")
	}
	t, ok := parseTime(v)
	if !ok {
		return time.Time{}, fail(ReasonMalformed, "the "+what+" IssueInstant "+quote(v)+" is not an xs:dateTime")
	}
	switch {
	case t.After(s.now.Add(s.skew)):
		return t, fail(ReasonIssueInstant, "the "+what+" IssueInstant "+fmtTime(t)+" is in the future (this server's time is "+
			fmtTime(s.now)+"); check the clocks of the IdP and of this server")
	case t.Before(s.now.Add(-s.skew - s.maxIssueDelay)):
		return t, fail(ReasonIssueInstant, "the "+what+" IssueInstant "+fmtTime(t)+" is older than "+
			(s.skew+s.maxIssueDelay).String()+" (this server's time is "+fmtTime(s.now)+"); a stored response is being replayed, or a clock is wrong")
	}
	return t, nil
}

func (s *settings) timeAttr(el *etree.Element, key, what string) (time.Time, bool, error) {
	v, ok := attr(el, key)
	if !ok {
		return time.Time{}, false, nil
	}
	t, ok := parseTime(v)
	if !ok {
		return time.Time{}, false, fail(ReasonMalformed, "the "+what+" "+key+" "+quote(v)+" is not an xs:dateTime")
	}
	return t, true, nil
}

// notOnOrAfter fails when now is at or after t, allowing for the skew.
func (s *settings) notOnOrAfter(t time.Time, what string) error {
	if !s.now.Before(t.Add(s.skew)) {
		return fail(ReasonExpired, "the "+what+" NotOnOrAfter "+fmtTime(t)+" has passed (this server's time is "+fmtTime(s.now)+")")
	}
	return nil
}

// notBefore fails when now is before t, allowing for the skew.
func (s *settings) notBefore(t time.Time, what string) error {
	if s.now.Add(s.skew).Before(t) {
		return fail(ReasonNotYetValid, "the "+what+" NotBefore "+fmtTime(t)+" is still in the future (this server's time is "+fmtTime(s.now)+")")
	}
	return nil
}

// checkResponse applies the Response-level checks to resp, which is the
// verified Response when signed and the unverified envelope otherwise. From
// an unverified envelope only restrictive checks are made (they can make
// Parse reject, never accept) and nothing identifying is read.
func (s *settings) checkResponse(resp *etree.Element, signed bool, a *Assertion) (inResponseTo string, err error) {
	if v := attrValue(resp, "Version"); v != "2.0" {
		return "", fail(ReasonVersion, "the Response Version is "+quote(v)+", not 2.0")
	}
	a.ResponseID = attrValue(resp, "ID")
	if a.ResponseID == "" {
		return "", fail(ReasonMalformed, "the Response has no ID")
	}
	if _, err := s.checkIssueInstant(resp, "Response"); err != nil {
		return "", err
	}
	st, err := readStatus(resp)
	if err != nil {
		return "", err
	}
	if !st.Success() {
		return "", &Error{Reason: ReasonStatus, Detail: "the IdP returned status " + st.String(), Status: st}
	}
	// SAML bindings §3.5.5.2: a signed message sent with the POST binding
	// must carry a Destination, and any Destination must be checked. It
	// stops a response meant for another SP (or another workspace) being
	// replayed here.
	dest, hasDest := attr(resp, "Destination")
	switch {
	case signed && !hasDest:
		return "", fail(ReasonDestination, "the signed Response has no Destination; the IdP must set it to this workspace's ACS URL "+quote(s.ACSURL))
	case hasDest && dest != s.ACSURL:
		return "", fail(ReasonDestination, "the Response Destination "+quote(dest)+" is not this workspace's ACS URL "+quote(s.ACSURL))
	}
	issuers := children(resp, nsSAML, "Issuer")
	switch len(issuers) {
	case 0:
	case 1:
		if err := s.checkIssuer(issuers[0], "Response"); err != nil {
			return "", err
		}
	default:
		return "", fail(ReasonMalformed, "the Response has more than one Issuer")
	}
	return attrValue(resp, "InResponseTo"), nil
}

func (s *settings) checkIssuer(el *etree.Element, what string) error {
	v, ok := text(el)
	if !ok {
		return fail(ReasonMalformed, "the "+what+" Issuer has child elements")
	}
	if f, ok := attr(el, "Format"); ok && f != "urn:oasis:names:tc:SAML:2.0:nameid-format:entity" {
		return fail(ReasonIssuer, "the "+what+" Issuer Format is "+quote(f)+", not entity")
	}
	if v != s.IdPEntityID {
		return fail(ReasonIssuer, "the "+what+" Issuer "+quote(v)+" is not the configured IdP entity ID "+quote(s.IdPEntityID))
	}
	return nil
}

func readStatus(resp *etree.Element) (*Status, error) {
	sts := children(resp, nsSAMLP, "Status")
	if len(sts) != 1 {
		return nil, fail(ReasonMalformed, "the Response must have exactly one Status")
	}
	codes := children(sts[0], nsSAMLP, "StatusCode")
	if len(codes) != 1 {
		return nil, fail(ReasonMalformed, "the Response Status must have exactly one StatusCode")
	}
	st := &Status{Code: attrValue(codes[0], "Value")}
	for c := children(codes[0], nsSAMLP, "StatusCode"); len(c) > 0; c = children(c[0], nsSAMLP, "StatusCode") {
		st.SubCodes = append(st.SubCodes, attrValue(c[0], "Value"))
	}
	if msgs := children(sts[0], nsSAMLP, "StatusMessage"); len(msgs) > 0 {
		// Shown to the admin and logged, possibly unsigned: bounded, and
		// with control characters (line breaks, escapes) replaced.
		m, _ := text(msgs[0])
		if len(m) > 500 {
			m = m[:500] + "…"
		}
		st.Message = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, strings.ToValidUTF8(m, "�"))
	}
	return st, nil
}

// checkAssertion applies every Assertion-level check to the verified
// assertion el and fills a. respIRT is the Response's InResponseTo.
func (s *settings) checkAssertion(el *etree.Element, respIRT string, a *Assertion) error {
	if v := attrValue(el, "Version"); v != "2.0" {
		return fail(ReasonVersion, "the Assertion Version is "+quote(v)+", not 2.0")
	}
	a.AssertionID = attrValue(el, "ID")
	if a.AssertionID == "" {
		return fail(ReasonMalformed, "the Assertion has no ID")
	}
	ii, err := s.checkIssueInstant(el, "Assertion")
	if err != nil {
		return err
	}
	a.IssueInstant = ii

	issuers := children(el, nsSAML, "Issuer")
	if len(issuers) != 1 {
		return fail(ReasonIssuer, "the Assertion must have exactly one Issuer")
	}
	if err := s.checkIssuer(issuers[0], "Assertion"); err != nil {
		return err
	}
	a.Issuer = s.IdPEntityID

	condNOA, err := s.checkConditions(el)
	if err != nil {
		return err
	}
	scdNOA, scdIRT, err := s.checkSubject(el, respIRT, a)
	if err != nil {
		return err
	}
	a.InResponseTo = respIRT
	if scdIRT != "" {
		a.InResponseTo = scdIRT
	}
	a.NotOnOrAfter = scdNOA
	if condNOA.After(a.NotOnOrAfter) {
		a.NotOnOrAfter = condNOA
	}
	a.NotOnOrAfter = a.NotOnOrAfter.Add(s.skew)

	if err := s.checkAuthnStatement(el, a); err != nil {
		return err
	}
	return readAttributes(el, a)
}

// checkConditions requires exactly one Conditions with a time window that
// includes now and an AudienceRestriction naming this SP. Without the
// audience check an assertion the same IdP issued to any other SP (another
// tenant, another vendor) would log in here (SAML profiles §4.1.4.2).
func (s *settings) checkConditions(el *etree.Element) (notOnOrAfter time.Time, err error) {
	conds := children(el, nsSAML, "Conditions")
	switch len(conds) {
	case 0:
		return time.Time{}, fail(ReasonConditions, "the Assertion has no Conditions, so no audience restriction")
	case 1:
	default:
		return time.Time{}, fail(ReasonConditions, "the Assertion has more than one Conditions")
	}
	c := conds[0]
	if t, ok, err := s.timeAttr(c, "NotBefore", "Conditions"); err != nil {
		return time.Time{}, err
	} else if ok {
		if err := s.notBefore(t, "Conditions"); err != nil {
			return time.Time{}, err
		}
	}
	noa, ok, err := s.timeAttr(c, "NotOnOrAfter", "Conditions")
	if err != nil {
		return time.Time{}, err
	}
	if ok {
		if err := s.notOnOrAfter(noa, "Conditions"); err != nil {
			return time.Time{}, err
		}
	}
	restrictions := 0
	for _, ch := range c.ChildElements() {
		switch {
		case is(ch, nsSAML, "AudienceRestriction"):
			// Several AudienceRestrictions must each be satisfied (SAML
			// core §2.5.1.4).
			restrictions++
			found := false
			for _, au := range children(ch, nsSAML, "Audience") {
				if v, _ := text(au); v == s.SPEntityID {
					found = true
				}
			}
			if !found {
				return time.Time{}, fail(ReasonAudience, "the AudienceRestriction does not include this workspace's SP entity ID "+
					quote(s.SPEntityID)+"; check the Audience URI / SP Entity ID in the IdP")
			}
		case is(ch, nsSAML, "OneTimeUse"), is(ch, nsSAML, "ProxyRestriction"):
			// OneTimeUse is what the caller's replay cache enforces for every
			// assertion anyway; ProxyRestriction constrains only re-issuing.
		default:
			// SAML core §2.5.1: a condition the relying party does not
			// understand makes the assertion Indeterminate: reject.
			return time.Time{}, fail(ReasonConditions, "the Conditions contain an unsupported condition <"+ch.Tag+">")
		}
	}
	if restrictions == 0 {
		return time.Time{}, fail(ReasonAudience, "the Assertion has no AudienceRestriction; the IdP must restrict it to "+quote(s.SPEntityID))
	}
	return noa, nil
}

// checkSubject reads the NameID and finds one acceptable bearer
// SubjectConfirmation: Recipient is this ACS (so a response posted to
// another SP cannot be replayed here), NotOnOrAfter bounds the response's
// lifetime, and its InResponseTo, when present, matches the Response's.
func (s *settings) checkSubject(el *etree.Element, respIRT string, a *Assertion) (notOnOrAfter time.Time, inResponseTo string, err error) {
	subjects := children(el, nsSAML, "Subject")
	if len(subjects) != 1 {
		return time.Time{}, "", fail(ReasonSubject, "the Assertion must have exactly one Subject")
	}
	subj := subjects[0]
	if err := readNameID(subj, a); err != nil {
		return time.Time{}, "", err
	}

	var first error
	for _, sc := range children(subj, nsSAML, "SubjectConfirmation") {
		if attrValue(sc, "Method") != methodBearer {
			continue
		}
		noa, irt, err := s.checkBearer(sc, respIRT)
		if err == nil {
			return noa, irt, nil
		}
		if first == nil {
			first = err
		}
	}
	if first != nil {
		return time.Time{}, "", first
	}
	return time.Time{}, "", fail(ReasonSubjectConfirmation, "the Subject has no bearer SubjectConfirmation")
}

func (s *settings) checkBearer(sc *etree.Element, respIRT string) (time.Time, string, error) {
	scds := children(sc, nsSAML, "SubjectConfirmationData")
	if len(scds) != 1 {
		return time.Time{}, "", fail(ReasonSubjectConfirmation, "a bearer SubjectConfirmation must have exactly one SubjectConfirmationData")
	}
	d := scds[0]
	if r, ok := attr(d, "Recipient"); !ok || r != s.ACSURL {
		return time.Time{}, "", fail(ReasonRecipient, "the SubjectConfirmationData Recipient "+quote(r)+" is not this workspace's ACS URL "+quote(s.ACSURL))
	}
	noa, ok, err := s.timeAttr(d, "NotOnOrAfter", "SubjectConfirmationData")
	if err != nil {
		return time.Time{}, "", err
	}
	if !ok {
		return time.Time{}, "", fail(ReasonSubjectConfirmation, "the bearer SubjectConfirmationData has no NotOnOrAfter")
	}
	if err := s.notOnOrAfter(noa, "SubjectConfirmationData"); err != nil {
		return time.Time{}, "", err
	}
	if nb, ok, err := s.timeAttr(d, "NotBefore", "SubjectConfirmationData"); err != nil {
		return time.Time{}, "", err
	} else if ok {
		if err := s.notBefore(nb, "SubjectConfirmationData"); err != nil {
			return time.Time{}, "", err
		}
	}
	irt, ok := attr(d, "InResponseTo")
	if ok && respIRT != "" && irt != respIRT {
		return time.Time{}, "", fail(ReasonInResponseTo, "the SubjectConfirmationData InResponseTo "+quote(irt)+" differs from the Response's "+quote(respIRT))
	}
	return noa, irt, nil
}

// readNameID takes the NameID only from the SAML assertion namespace: an
// element called NameID in any other namespace is not a NameID (GO-2026-6909,
// where crewjam/saml read <x:NameID xmlns:x="urn:evil"> as the subject).
func readNameID(subj *etree.Element, a *Assertion) error {
	ids := children(subj, nsSAML, "NameID")
	switch len(ids) {
	case 1:
	case 0:
		switch {
		case len(children(subj, nsSAML, "EncryptedID")) > 0:
			return fail(ReasonSubject, "the Subject has an EncryptedID, which is not supported; turn off NameID encryption in the IdP")
		case len(children(subj, nsSAML, "BaseID")) > 0:
			return fail(ReasonSubject, "the Subject has a BaseID, which is not supported; the IdP must send a NameID")
		}
		for _, c := range subj.ChildElements() {
			if c.Tag == "NameID" {
				return fail(ReasonSubject, "the Subject has a NameID in namespace "+quote(c.NamespaceURI())+", which is not a SAML NameID")
			}
		}
		return fail(ReasonSubject, "the Subject has no NameID")
	default:
		return fail(ReasonSubject, "the Subject has more than one NameID")
	}
	id := ids[0]
	v, ok := text(id)
	switch {
	case !ok:
		return fail(ReasonSubject, "the NameID has child elements")
	case v == "":
		return fail(ReasonSubject, "the NameID is empty")
	case !utf8.ValidString(v):
		return fail(ReasonSubject, "the NameID is not valid UTF-8")
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return fail(ReasonSubject, "the NameID contains a control character")
		}
	}
	a.NameID = v
	a.NameIDFormat = attrValue(id, "Format")
	a.NameQualifier = attrValue(id, "NameQualifier")
	a.SPNameQualifier = attrValue(id, "SPNameQualifier")
	return nil
}

func (s *settings) checkAuthnStatement(el *etree.Element, a *Assertion) error {
	stmts := children(el, nsSAML, "AuthnStatement")
	if len(stmts) == 0 {
		return fail(ReasonAuthnStatement, "the Assertion has no AuthnStatement")
	}
	st := stmts[0]
	t, ok, err := s.timeAttr(st, "AuthnInstant", "AuthnStatement")
	if err != nil {
		return err
	}
	if !ok {
		return fail(ReasonMalformed, "the AuthnStatement has no AuthnInstant")
	}
	a.AuthnInstant = t
	a.SessionIndex = attrValue(st, "SessionIndex")
	snoa, ok, err := s.timeAttr(st, "SessionNotOnOrAfter", "AuthnStatement")
	if err != nil {
		return err
	}
	if ok {
		if err := s.notOnOrAfter(snoa, "AuthnStatement Session"); err != nil {
			return err
		}
		a.SessionNotOnOrAfter = snoa
	}
	return nil
}

func readAttributes(el *etree.Element, a *Assertion) error {
	a.Attributes = map[string]Attribute{}
	for _, stmt := range children(el, nsSAML, "AttributeStatement") {
		for _, at := range children(stmt, nsSAML, "Attribute") {
			name := attrValue(at, "Name")
			if name == "" {
				return fail(ReasonMalformed, "an Attribute has no Name")
			}
			cur, seen := a.Attributes[name]
			if !seen {
				cur = Attribute{Name: name, NameFormat: attrValue(at, "NameFormat"), FriendlyName: attrValue(at, "FriendlyName")}
			}
			for _, v := range children(at, nsSAML, "AttributeValue") {
				if isNil(v) {
					continue
				}
				t, ok := text(v)
				if !ok {
					t = deepText(v)
				}
				cur.Values = append(cur.Values, t)
			}
			a.Attributes[name] = cur
		}
	}
	return nil
}

// isNil reports xsi:nil="true" (or "1"), resolving the prefix properly.
func isNil(el *etree.Element) bool {
	for _, at := range el.Attr {
		if at.Key == "nil" && at.Space != "" && (at.Value == "true" || at.Value == "1") && prefixURI(el, at.Space) == nsXSI {
			return true
		}
	}
	return false
}

func prefixURI(el *etree.Element, prefix string) string {
	for e := el; e != nil; e = e.Parent() {
		for _, at := range e.Attr {
			if at.Space == "xmlns" && at.Key == prefix {
				return at.Value
			}
		}
	}
	return ""
}

// deepText concatenates all character data under el, for an AttributeValue
// with element content.
func deepText(el *etree.Element) string {
	var out []byte
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.CharData:
			out = append(out, t.Data...)
		case *etree.Element:
			out = append(out, deepText(t)...)
		}
	}
	return string(out)
}
