package response

import (
	"strings"
	"time"

	"github.com/beevik/etree"
)

// XML namespaces and fixed values from the SAML 2.0, XML-DSig and XML-Enc
// specifications.
const (
	nsSAML   = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsSAMLP  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsDSig   = "http://www.w3.org/2000/09/xmldsig#"
	nsXEnc   = "http://www.w3.org/2001/04/xmlenc#"
	nsXEnc11 = "http://www.w3.org/2009/xmlenc11#"
	nsXML    = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS  = "http://www.w3.org/2000/xmlns/"

	statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"
	methodBearer  = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
)

// is reports whether el is the element {ns}local. The namespace is resolved
// through the in-scope declarations, never by prefix.
func is(el *etree.Element, ns, local string) bool {
	return el.Tag == local && el.NamespaceURI() == ns
}

// children returns the child elements {ns}local of el, in document order.
func children(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// attr returns the value of the unqualified attribute key. Unlike etree's
// SelectAttr it never matches a prefixed attribute (x:ID is not ID).
func attr(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

func attrValue(el *etree.Element, key string) string {
	v, _ := attr(el, key)
	return v
}

// text returns the character data of a simple-content element. Character
// data separated by comments is concatenated, so a comment cannot truncate a
// signed value (the CVE-2017-11427 family). ok is false when el has child
// elements, which a simple-content element must not have.
func text(el *etree.Element) (s string, ok bool) {
	var b strings.Builder
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.CharData:
			b.WriteString(t.Data)
		case *etree.Element:
			return "", false
		}
	}
	return b.String(), true
}

// parseTime parses an xs:dateTime. SAML requires UTC with a "Z"; offsets are
// accepted and converted, and a missing zone is read as UTC.
func parseTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC); err == nil {
		return t, true
	}
	return time.Time{}, false
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
