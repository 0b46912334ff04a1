package ssp

import (
	_ "embed"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// state is what the PHP config files read from config/state.json.
type state struct {
	BaseURL       string            `json:"baseURL"`
	EntityID      string            `json:"entityID"`
	SecretSalt    string            `json:"secretSalt"`
	AdminPassword string            `json:"adminPassword"`
	Dirs          map[string]string `json:"dirs"`
	Users         []stateUser       `json:"users"`
	Hosted        map[string]any    `json:"hosted"`
}

type stateUser struct {
	Username   string              `json:"username"`
	Password   string              `json:"password"`
	Attributes map[string][]string `json:"attributes"`
}

// writeStateLocked writes config/state.json from the current fields.
func (i *IdP) writeStateLocked() error {
	o := i.opts
	active := i.keys[i.active]
	hosted := map[string]any{
		"host":                       "__DEFAULT__",
		"auth":                       "example-userpass",
		"privatekey":                 active.name + ".key",
		"certificate":                active.name + ".crt",
		"signature.algorithm":        signatureURI(o.SignatureAlgorithm),
		"NameIDFormat":               o.NameIDFormat,
		"simplesaml.nameidattribute": o.NameIDAttribute,
		"attributes.NameFormat":      o.AttributeNameFormat,
		"assertion.encryption":       o.EncryptAssertion,
		"saml20.sign.response":       *o.SignResponse,
		"saml20.sign.assertion":      *o.SignAssertion,
		"sign.logout":                true,
	}
	switch {
	case i.next >= 0:
		hosted["new_privatekey"] = i.keys[i.next].name + ".key"
		hosted["new_certificate"] = i.keys[i.next].name + ".crt"
	case i.keepOld >= 0:
		// SimpleSAMLphp can publish only one extra certificate, the
		// "new" one; during overlap after the switch, that slot holds
		// the old certificate. It is only published, never used.
		hosted["new_certificate"] = i.keys[i.keepOld].name + ".crt"
	}
	for k, v := range o.Hosted {
		hosted[k] = v
	}
	users := make([]stateUser, 0, len(o.Users))
	for _, u := range o.Users {
		attrs := u.Attributes
		if attrs == nil {
			attrs = map[string][]string{}
		}
		users = append(users, stateUser{Username: u.Username, Password: u.Password, Attributes: attrs})
	}
	st := state{
		BaseURL:       i.baseURL,
		EntityID:      i.baseURL + "saml2/idp/metadata.php",
		SecretSalt:    i.saltHex,
		AdminPassword: i.adminPass,
		Dirs:          map[string]string{},
		Users:         users,
		Hosted:        hosted,
	}
	for _, d := range []string{"metadata", "cert", "data", "tmp", "log", "sp"} {
		st.Dirs[d] = filepath.Join(i.dir, d)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return writeFileAtomic(filepath.Join(i.dir, "config", "state.json"), b)
}

//go:embed php/config.php
var configPHP []byte

//go:embed php/authsources.php
var authsourcesPHP []byte

//go:embed php/saml20-idp-hosted.php
var idpHostedPHP []byte

//go:embed php/saml20-sp-remote.php
var spRemotePHP []byte

func writeStaticFiles(dir string) error {
	files := []struct {
		path string
		data []byte
	}{
		{"config/config.php", configPHP},
		{"config/authsources.php", authsourcesPHP},
		{"metadata/saml20-idp-hosted.php", idpHostedPHP},
		{"metadata/saml20-sp-remote.php", spRemotePHP},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.path), f.data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return nil
}

// writeFileAtomic writes data to a temporary file and renames it to path,
// so that a concurrent PHP request never reads half a file.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func withDefaults(o Options) Options {
	if len(o.Users) == 0 {
		o.Users = DefaultUsers()
	}
	if o.SignatureAlgorithm == "" {
		o.SignatureAlgorithm = "rsa-sha256"
	}
	if o.NameIDFormat == "" {
		o.NameIDFormat = NameIDEmail
	}
	if o.NameIDAttribute == "" {
		o.NameIDAttribute = "email"
	}
	if o.AttributeNameFormat == "" {
		o.AttributeNameFormat = AttrNameFormatBasic
	}
	if o.SignResponse == nil {
		o.SignResponse = Bool(true)
	}
	if o.SignAssertion == nil {
		o.SignAssertion = Bool(true)
	}
	return o
}

func validate(o Options) error {
	if signatureURI(o.SignatureAlgorithm) == "" {
		return fmt.Errorf("unknown SignatureAlgorithm %q (want rsa-sha1, rsa-sha256, rsa-sha384, rsa-sha512 or a URI)", o.SignatureAlgorithm)
	}
	seen := map[string]bool{}
	for _, u := range o.Users {
		if u.Username == "" || strings.Contains(u.Username, ":") {
			return fmt.Errorf("user %q: the username must be non-empty and contain no ':'", u.Username)
		}
		if seen[u.Username] {
			return fmt.Errorf("user %q appears twice", u.Username)
		}
		seen[u.Username] = true
	}
	if _, err := json.Marshal(o.Hosted); err != nil {
		return fmt.Errorf("option Hosted: %w", err)
	}
	return nil
}

// signatureURI maps a short algorithm name to its XML-DSig URI; full URIs
// pass through. It returns "" for an unknown short name.
func signatureURI(alg string) string {
	switch alg {
	case "", "rsa-sha256":
		return "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	case "rsa-sha1":
		return "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	case "rsa-sha384":
		return "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	case "rsa-sha512":
		return "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	}
	if strings.HasPrefix(alg, "http://") || strings.HasPrefix(alg, "https://") {
		return alg
	}
	return ""
}

// checkHost returns the host for URLs and the address to listen on.
func checkHost(h string) (host, listen string, err error) {
	switch {
	case h == "":
		return "127.0.0.1", "127.0.0.1", nil
	case h == "localhost":
		return "localhost", "127.0.0.1", nil
	}
	ip := net.ParseIP(h)
	if ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return "", "", fmt.Errorf("option Host %q: want an IPv4 loopback address or \"localhost\"", h)
	}
	return ip.String(), ip.String(), nil
}

// spDescriptor is the part of SP metadata the harness reads.
type spDescriptor struct {
	XMLName  xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	EntityID string   `xml:"entityID,attr"`
	SPSSO    []struct {
		ACS []struct {
			Location string `xml:"Location,attr"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:metadata AssertionConsumerService"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:metadata SPSSODescriptor"`
}

func parseSPMetadata(b []byte) (entityID string, acs []string, err error) {
	var d spDescriptor
	if err := xml.Unmarshal(b, &d); err != nil {
		return "", nil, fmt.Errorf("parse SP metadata (want one md:EntityDescriptor): %w", err)
	}
	if d.EntityID == "" {
		return "", nil, errors.New("SP metadata has no entityID")
	}
	if len(d.SPSSO) == 0 {
		return "", nil, fmt.Errorf("SP metadata for %s has no SPSSODescriptor", d.EntityID)
	}
	for _, s := range d.SPSSO {
		for _, a := range s.ACS {
			acs = append(acs, a.Location)
		}
	}
	return d.EntityID, acs, nil
}
