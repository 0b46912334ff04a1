package saml

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"sync"
	"time"

	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/saml/metadata"
)

// Attribute presets: for each member field, the SAML attribute names each
// IdP sends by default or in its documented setup. Matching is without
// regard to case, and a claim URI also matches by its last path segment.
var presets = map[string]map[string][]string{
	"okta":      {"email": {"email"}, "givenName": {"firstName"}, "familyName": {"lastName"}},
	"jumpcloud": {"email": {"email"}, "givenName": {"firstname"}, "familyName": {"lastname"}},
	"google":    {"email": {"email"}, "givenName": {"firstName"}, "familyName": {"lastName"}},
	"onelogin":  {"email": {"User.email", "email"}, "givenName": {"User.FirstName", "firstName"}, "familyName": {"User.LastName", "lastName"}},
	"entra": {
		"email":      {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"},
		"givenName":  {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"},
		"familyName": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"},
		"userName":   {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"},
	},
	// generic is used when no preset is chosen: the common names of them all.
	"generic": {
		"email": {"email", "mail", "emailAddress", "User.email", "urn:oid:0.9.2342.19200300.100.1.3",
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"},
		"givenName": {"firstName", "givenName", "firstname", "User.FirstName", "urn:oid:2.5.4.42",
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"},
		"familyName": {"lastName", "surname", "sn", "lastname", "User.LastName", "urn:oid:2.5.4.4",
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"},
	},
}

// Presets lists the attribute presets by name.
func Presets() []string {
	return []string{"generic", "okta", "entra", "jumpcloud", "google", "onelogin"}
}

// attributeNames returns the attribute names to read for a member field.
func (c *Connection) attributeNames(field string) []string {
	if n := c.AttributeMap[field]; n != "" {
		return []string{n}
	}
	p, ok := presets[c.Preset]
	if !ok {
		p = presets["generic"]
	}
	return p[field]
}

// Settings is a connection configuration request. Nil pointers leave a
// setting as it is. The IdP is given one of three ways: MetadataXML,
// MetadataURL, or the manual fields (SSOURL, EntityID, Certificates).
type Settings struct {
	MetadataXML       []byte
	MetadataURL       string
	SSOURL            string
	EntityID          string
	Certificates      []string // PEM or bare base64 DER
	AllowIdPInitiated *bool
	AllowSHA1         *bool
	JIT               *bool
	ClockSkew         *time.Duration
	Preset            *string
	AttributeMap      map[string]string
}

// Configure sets up (or changes) a workspace's IdP. Every problem comes
// back as an EINVALID error an IT admin can act on.
func (s *Server) Configure(ctx context.Context, ws string, in Settings) (*Connection, error) {
	if _, err := s.dir.Workspace(ctx, ws); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	c, err := s.store.Connection(ctx, ws)
	if errors.Is(err, directory.ErrNotFound) {
		c = &Connection{WorkspaceID: ws, Created: now, ClockSkew: 3 * time.Minute}
	} else if err != nil {
		return nil, err
	}
	ways := 0
	for _, given := range []bool{len(in.MetadataXML) > 0, in.MetadataURL != "", in.SSOURL != "" || in.EntityID != "" || len(in.Certificates) > 0} {
		if given {
			ways++
		}
	}
	if ways > 1 {
		return nil, directory.Errorf(directory.EINVALID, "give the IdP one way: metadata XML, a metadata URL, or the SSO URL, entity ID and certificate")
	}
	switch {
	case len(in.MetadataXML) > 0:
		if err := applyMetadata(c, in.MetadataXML, ""); err != nil {
			return nil, err
		}
		c.MetadataURL, c.MetadataNext = "", time.Time{}
		c.MetadataFetched, c.MetadataError = now, ""
	case in.MetadataURL != "":
		body, err := s.fetcher.Fetch(ctx, in.MetadataURL)
		if err != nil {
			return nil, directory.Wrap(directory.EINVALID, err, "could not fetch the IdP metadata: "+err.Error())
		}
		if err := applyMetadata(c, body, in.MetadataURL); err != nil {
			return nil, err
		}
		c.MetadataURL, c.MetadataFetched, c.MetadataNext, c.MetadataError = in.MetadataURL, now, now.Add(s.cfg.RefreshEvery), ""
	case ways == 1:
		if err := applyManual(c, in); err != nil {
			return nil, err
		}
		c.MetadataURL, c.MetadataXML, c.MetadataNext, c.MetadataError = "", "", time.Time{}, ""
	}
	if in.AllowIdPInitiated != nil {
		c.AllowIdPInitiated = *in.AllowIdPInitiated
	}
	if in.AllowSHA1 != nil {
		c.AllowSHA1 = *in.AllowSHA1
	}
	if in.JIT != nil {
		c.JIT = *in.JIT
	}
	if in.ClockSkew != nil {
		if *in.ClockSkew < 0 || *in.ClockSkew > 30*time.Minute {
			return nil, directory.Errorf(directory.EINVALID, "clock skew must be between 0 and 30 minutes")
		}
		c.ClockSkew = *in.ClockSkew
	}
	if in.Preset != nil {
		if _, ok := presets[*in.Preset]; !ok && *in.Preset != "" {
			return nil, directory.Errorf(directory.EINVALID, "unknown attribute preset %q; presets are %s", *in.Preset, strings.Join(Presets(), ", "))
		}
		c.Preset = *in.Preset
	}
	if in.AttributeMap != nil {
		for k := range in.AttributeMap {
			if k != "email" && k != "givenName" && k != "familyName" && k != "userName" {
				return nil, directory.Errorf(directory.EINVALID, "attribute map field %q: fields are email, givenName, familyName and userName", k)
			}
		}
		c.AttributeMap = in.AttributeMap
	}
	if c.IdPEntityID == "" || c.IdPSSOURL == "" || len(c.IdPCerts) == 0 {
		return nil, directory.Errorf(directory.EINVALID, "the IdP is not configured: give its metadata (XML or URL), or its SSO URL, entity ID and signing certificate")
	}
	c.Modified = now
	if _, err := s.ensureKeys(ctx, ws); err != nil {
		return nil, err
	}
	if err := s.store.SaveConnection(ctx, c); err != nil {
		return nil, err
	}
	s.audit(ctx, ws, "sso.configured", map[string]any{
		"idp_entity_id": c.IdPEntityID, "sso_url": c.IdPSSOURL, "metadata_url": c.MetadataURL,
		"certificates": certSummaries(c.IdPCerts), "allow_idp_initiated": c.AllowIdPInitiated,
		"allow_sha1": c.AllowSHA1, "jit": c.JIT,
	})
	return c, nil
}

// applyMetadata reads IdP metadata into c.
func applyMetadata(c *Connection, xmlDoc []byte, from string) error {
	idp, err := metadata.ParseIdP(xmlDoc)
	if err != nil {
		where := "the IdP metadata"
		if from != "" {
			where = "the IdP metadata at " + from
		}
		return directory.Wrap(directory.EINVALID, err, where+" is not usable: "+err.Error())
	}
	sso := idp.SSORedirectURL
	if sso == "" {
		sso = idp.SSOPostURL
	}
	if len(idp.SigningCertificates) == 0 {
		return directory.Errorf(directory.EINVALID, "the IdP metadata has no signing certificate (KeyDescriptor use=\"signing\")")
	}
	c.IdPEntityID, c.IdPSSOURL = idp.EntityID, sso
	c.IdPCerts = nil
	for _, cert := range idp.SigningCertificates {
		c.IdPCerts = append(c.IdPCerts, certPEM(cert))
	}
	c.MetadataXML = string(xmlDoc)
	return nil
}

// applyManual reads the manual fields into c.
func applyManual(c *Connection, in Settings) error {
	u, err := url.Parse(in.SSOURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return directory.Errorf(directory.EINVALID, "the IdP SSO URL %q must be an absolute https:// URL (the IdP's \"SAML 2.0 Endpoint\" or \"Login URL\")", in.SSOURL)
	}
	if strings.TrimSpace(in.EntityID) == "" {
		return directory.Errorf(directory.EINVALID, "the IdP entity ID is required (the IdP's \"Issuer\" or \"Entity ID\", e.g. http://www.okta.com/exk…)")
	}
	if len(in.Certificates) == 0 {
		return directory.Errorf(directory.EINVALID, "the IdP signing certificate is required (the certificate.pem the IdP offers for download)")
	}
	var pems []string
	for i, s := range in.Certificates {
		cert, err := metadata.ParseCertificate(s)
		if err != nil {
			return directory.Wrap(directory.EINVALID, err, fmt.Sprintf("IdP certificate %d is not a PEM or base64 X.509 certificate: %v", i+1, err))
		}
		pems = append(pems, certPEM(cert))
	}
	c.IdPSSOURL, c.IdPEntityID, c.IdPCerts = in.SSOURL, strings.TrimSpace(in.EntityID), pems
	return nil
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// parseCerts parses stored PEM certificates.
func parseCerts(pems []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, p := range pems {
		c, err := metadata.ParseCertificate(p)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// parsed caches certificates and SP keys parsed from the PEM stored in the
// database, keyed by the PEM's SHA-256: content-addressed, so a rotated
// certificate or key is a new entry and nothing is ever served stale. It
// saves every sign-in an RSA private-key parse and precomputation, a third
// of the ACS's time before it was cached. Bounded: cleared when full.
type parsed struct {
	mu    sync.Mutex
	certs map[[32]byte]*x509.Certificate
	keys  map[[32]byte]*spKey
	// bindings caches, by metadata document, whether the IdP takes
	// AuthnRequests only by HTTP-POST: parsing an Entra document on every
	// sign-in start costs milliseconds.
	bindings map[[32]byte]bool
}

// postOnly reports whether the IdP of a metadata document ("" for a manual
// setup) accepts AuthnRequests by HTTP-POST and not by Redirect.
func (p *parsed) postOnly(md string) bool {
	if md == "" {
		return false
	}
	h := sha256.Sum256([]byte(md))
	p.mu.Lock()
	v, ok := p.bindings[h]
	p.mu.Unlock()
	if ok {
		return v
	}
	idp, err := metadata.ParseIdP([]byte(md))
	v = err == nil && idp.SSORedirectURL == "" && idp.SSOPostURL != ""
	p.mu.Lock()
	if len(p.bindings) >= maxParsed {
		p.bindings = map[[32]byte]bool{}
	}
	p.bindings[h] = v
	p.mu.Unlock()
	return v
}

const maxParsed = 10_000

func (p *parsed) certificates(pems []string) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(pems))
	for _, pm := range pems {
		h := sha256.Sum256([]byte(pm))
		p.mu.Lock()
		c, ok := p.certs[h]
		p.mu.Unlock()
		if !ok {
			var err error
			if c, err = metadata.ParseCertificate(pm); err != nil {
				return nil, err
			}
			p.mu.Lock()
			if len(p.certs) >= maxParsed {
				p.certs = map[[32]byte]*x509.Certificate{}
			}
			p.certs[h] = c
			p.mu.Unlock()
		}
		out = append(out, c)
	}
	return out, nil
}

func (p *parsed) key(k *SPKey, sealer *credential.Sealer) (*spKey, error) {
	// The row is part of the key: a sealed key opens only in its own row,
	// and a cache hit must not let a copy in another row skip that check.
	h := sha256.Sum256([]byte(sealContext(k) + "\x00" + k.KeyPEM + "\x00" + k.CertPEM))
	p.mu.Lock()
	pk, ok := p.keys[h]
	p.mu.Unlock()
	if ok {
		c := *pk // the status may differ from the cached row's
		c.SPKey = k
		return &c, nil
	}
	pk, err := parseSPKey(k, sealer)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if len(p.keys) >= maxParsed {
		p.keys = map[[32]byte]*spKey{}
	}
	p.keys[h] = pk
	p.mu.Unlock()
	return pk, nil
}

// Fingerprint is a certificate's SHA-256 fingerprint in hex.
func Fingerprint(c *x509.Certificate) string {
	h := sha256.Sum256(c.Raw)
	return hex.EncodeToString(h[:])
}

// CertInfo describes a certificate for display.
type CertInfo struct {
	Subject     string    `json:"subject"`
	Fingerprint string    `json:"sha256_fingerprint"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	DaysLeft    int       `json:"days_left"`
}

func certInfo(c *x509.Certificate, now time.Time) CertInfo {
	return CertInfo{Subject: c.Subject.String(), Fingerprint: Fingerprint(c), NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		DaysLeft: int(c.NotAfter.Sub(now).Hours() / 24)}
}

func certSummaries(pems []string) []string {
	certs, _ := parseCerts(pems) // stored certificates were parsed before they were stored
	var out []string
	for _, c := range certs {
		out = append(out, fmt.Sprintf("%s (expires %s)", Fingerprint(c)[:16], c.NotAfter.Format("2006-01-02")))
	}
	return out
}

// ---- SP keys ----

// newKey generates an RSA-2048 key and a self-signed certificate valid for
// ten years: IdPs pin the certificate itself, so its dates only matter to
// the IdPs that check them.
func newKey(ws, entityID string, now time.Time) (*SPKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	host := entityID
	if u, err := url.Parse(entityID); err == nil && u.Host != "" {
		host = u.Hostname()
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host, Organization: []string{"Rollcall workspace " + ws}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &SPKey{
		WorkspaceID: ws, ID: directory.NewID(), Created: now,
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
	}, nil
}

// spKey is a parsed SP key.
type spKey struct {
	*SPKey
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func parseSPKey(k *SPKey, sealer *credential.Sealer) (*spKey, error) {
	keyPEM := []byte(k.KeyPEM)
	if credential.IsSealed(k.KeyPEM) {
		if sealer == nil {
			return nil, fmt.Errorf("SP key %s of workspace %s is sealed and this server has no --secret-key (ROLLCALL_SECRET_KEY): start it with the key that sealed it", k.ID, k.WorkspaceID)
		}
		var err error
		if keyPEM, err = sealer.Open(k.KeyPEM, sealContext(k)); err != nil {
			return nil, fmt.Errorf("SP key %s of workspace %s: %w", k.ID, k.WorkspaceID, err)
		}
	}
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, fmt.Errorf("SP key %s: no PEM block", k.ID)
	}
	key, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("SP key %s: %w", k.ID, err)
	}
	cb, _ := pem.Decode([]byte(k.CertPEM))
	if cb == nil {
		return nil, fmt.Errorf("SP certificate %s: no PEM block", k.ID)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("SP certificate %s: %w", k.ID, err)
	}
	return &spKey{SPKey: k, key: key, cert: cert}, nil
}

// keySet is a workspace's SP keys by state.
type keySet struct {
	current, next, previous *spKey
}

// ensureKeys returns the workspace's SP keys, generating the first one.
func (s *Server) ensureKeys(ctx context.Context, ws string) (*keySet, error) {
	ks, err := s.keys(ctx, ws)
	if err != nil || ks.current != nil {
		return ks, err
	}
	// Another replica (or request) making the first key at the same moment
	// wins the unique (workspace, state) index: use its key.
	if _, err := s.addKey(ctx, ws, KeyCurrent); err != nil && !errors.Is(err, directory.ErrConflict) {
		return nil, err
	}
	return s.keys(ctx, ws)
}

// addKey makes a new SP key pair with the given status and stores it.
func (s *Server) addKey(ctx context.Context, ws, status string) (*SPKey, error) {
	k, err := s.makeKey(ws, status)
	if err != nil {
		return nil, err
	}
	return k, s.store.InsertSPKey(ctx, k)
}

// makeKey makes a new SP key pair with the given status, sealed when the
// server has a secret key.
func (s *Server) makeKey(ws, status string) (*SPKey, error) {
	k, err := newKey(ws, s.EntityID(ws), s.now().UTC())
	if err != nil {
		return nil, err
	}
	k.Status = status
	if s.cfg.Sealer != nil {
		k.KeyPEM = s.cfg.Sealer.Seal([]byte(k.KeyPEM), sealContext(k))
	}
	return k, nil
}

// SealKeys seals every SP private key stored before the server had a
// secret key (or by a server started without one) with the current secret
// key, and returns how many it sealed (another replica may have sealed
// some of them first). The server runs it at start and then hourly, so
// that no request seals a key (a request only ever writes a workspace's
// first key, sealed when the server has a secret key). Replicas may run it
// at once: each replacement happens only if the key is still the plain
// one it read. Without a secret key it does nothing.
//
// It never seals again a key that is sealed already: a server whose keys
// are listed in the wrong order (the old key first, as in the first step
// of a rotation) would otherwise move keys back. ResealKeys does that, on
// the operator's command.
func (s *Server) SealKeys(ctx context.Context) (int, error) {
	if s.cfg.Sealer == nil {
		return 0, nil
	}
	list, err := s.store.PlainSPKeys(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range list {
		if err := s.replaceKeyPEM(ctx, k, s.cfg.Sealer.Seal([]byte(k.KeyPEM), sealContext(k)), &n); err != nil {
			return n, err
		}
	}
	return n, nil
}

// ResealKeys finishes a rotation of the secret key: it seals with the
// current (first) secret key every key that is plain or that an older key
// sealed, then reads every key back to check that each opens with the
// current key. It returns how many keys it sealed, and an error naming the
// keys that fail the check (they open with none of the secret keys, or
// something wrote them meanwhile without the current key), after the
// others are done.
func (s *Server) ResealKeys(ctx context.Context) (int, error) {
	if s.cfg.Sealer == nil {
		return 0, errors.New("no secret key to seal with")
	}
	list, err := s.store.AllSPKeys(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range list {
		if sealed, changed, err := s.sealedWithCurrent(k); err == nil && changed {
			if err := s.replaceKeyPEM(ctx, k, sealed, &n); err != nil {
				return n, err
			}
		}
	}

	if list, err = s.store.AllSPKeys(ctx); err != nil {
		return n, err
	}
	var problems []error
	for _, k := range list {
		if _, changed, err := s.sealedWithCurrent(k); err != nil {
			problems = append(problems, fmt.Errorf("SP key %s of workspace %s: %w", k.ID, k.WorkspaceID, err))
		} else if changed {
			problems = append(problems, fmt.Errorf("SP key %s of workspace %s is not sealed with the current secret key (written meanwhile by a server without it, or with the old key first)", k.ID, k.WorkspaceID))
		}
	}
	if len(problems) > 3 {
		problems = append(problems[:3], fmt.Errorf("and %d more SP keys", len(problems)-3))
	}
	return n, errors.Join(problems...)
}

// sealedWithCurrent returns k's private key sealed with the current secret
// key, and whether that differs from what is stored: a plain key is sealed,
// a key an older secret key sealed is sealed again.
func (s *Server) sealedWithCurrent(k *SPKey) (string, bool, error) {
	if !credential.IsSealed(k.KeyPEM) {
		return s.cfg.Sealer.Seal([]byte(k.KeyPEM), sealContext(k)), true, nil
	}
	return s.cfg.Sealer.Reseal(k.KeyPEM, sealContext(k))
}

// replaceKeyPEM stores a key's new sealed form if the key is still what
// was read, and counts it in n if so.
func (s *Server) replaceKeyPEM(ctx context.Context, k *SPKey, replacement string, n *int) error {
	done, err := s.store.ReplaceSPKeyPEM(ctx, k.WorkspaceID, k.ID, k.KeyPEM, replacement)
	if err != nil {
		return fmt.Errorf("seal SP key %s of workspace %s: %w", k.ID, k.WorkspaceID, err)
	}
	if done {
		*n++
	}
	return nil
}

// sealContext binds a sealed key to its row.
func sealContext(k *SPKey) string { return "saml_sp_keys/" + k.WorkspaceID + "/" + k.ID }

func (s *Server) keys(ctx context.Context, ws string) (*keySet, error) {
	list, err := s.store.SPKeys(ctx, ws)
	if err != nil {
		return nil, err
	}
	ks := &keySet{}
	for _, k := range list {
		pk, err := s.parsed.key(k, s.cfg.Sealer)
		if err != nil {
			return nil, err
		}
		switch k.Status {
		case KeyCurrent:
			ks.current = pk
		case KeyNext:
			ks.next = pk
		case KeyPrevious:
			ks.previous = pk
		}
	}
	return ks, nil
}

// decryptionKeys lists the keys an IdP may have encrypted to, during any
// stage of a rollover.
func (ks *keySet) decryptionKeys() []*rsa.PrivateKey {
	var out []*rsa.PrivateKey
	for _, k := range []*spKey{ks.current, ks.next, ks.previous} {
		if k != nil {
			out = append(out, k.key)
		}
	}
	return out
}

// SetSSOPolicy sets the workspace's SSO policy, for the CLI and the REST
// API alike. Requiring SSO before the workspace has an IdP would lock out
// every member but the owners, so it is refused (ECONFLICT) with both ways
// to configure one; a connection is never deleted, so once there is one
// this holds.
func (s *Server) SetSSOPolicy(ctx context.Context, ws string, p directory.SSOPolicy) (*directory.Workspace, error) {
	if p == directory.SSORequired {
		if _, err := s.dir.Workspace(ctx, ws); err != nil {
			return nil, err
		}
		if _, err := s.store.Connection(ctx, ws); errors.Is(err, directory.ErrNotFound) {
			return nil, directory.Errorf(directory.ECONFLICT, "workspace %s has no IdP configured: requiring SSO now would lock out every member who is not an owner; "+
				"configure the IdP first (rollcall sso configure --workspace %s --idp-metadata FILE|URL, or PUT /api/v1/workspaces/%s/sso), then require SSO", ws, ws, ws)
		} else if err != nil {
			return nil, err
		}
	}
	return s.dir.SetSSOPolicy(ctx, ws, p)
}

// ChangeKeys runs one step on the workspace's SP keys, named as the CLI
// and the REST API name them: begin-rollover, complete-rollover or reset.
func (s *Server) ChangeKeys(ctx context.Context, ws, step string) error {
	switch step {
	case "begin-rollover":
		return s.BeginKeyRollover(ctx, ws)
	case "complete-rollover":
		return s.CompleteKeyRollover(ctx, ws)
	case "reset":
		return s.ResetKeys(ctx, ws)
	}
	return directory.Errorf(directory.ENOTFOUND, "no SP key step %q: begin-rollover, complete-rollover or reset", step)
}

// BeginKeyRollover creates the workspace's next SP key pair, published in
// the SP metadata beside the current one, so the IdP can learn it before
// it is used.
func (s *Server) BeginKeyRollover(ctx context.Context, ws string) error {
	ks, err := s.ensureKeys(ctx, ws)
	if err != nil {
		return err
	}
	if ks.next != nil {
		return directory.Errorf(directory.ECONFLICT, "a rollover is already in progress; complete it first")
	}
	k, err := s.addKey(ctx, ws, KeyNext)
	if errors.Is(err, directory.ErrConflict) { // another one began meanwhile
		return directory.Errorf(directory.ECONFLICT, "a rollover is already in progress; complete it first")
	} else if err != nil {
		return err
	}
	s.audit(ctx, ws, "sso.sp_key_rollover_started", map[string]any{"next_key": k.ID})
	return nil
}

// CompleteKeyRollover makes the next key current. The old key stays as
// "previous" for decryption until the next rollover.
func (s *Server) CompleteKeyRollover(ctx context.Context, ws string) error {
	ks, err := s.ensureKeys(ctx, ws)
	if err != nil {
		return err
	}
	if ks.next == nil {
		return directory.Errorf(directory.ECONFLICT, "no rollover in progress; begin one first")
	}
	change := map[string]string{ks.current.ID: KeyPrevious, ks.next.ID: KeyCurrent}
	if ks.previous != nil {
		change[ks.previous.ID] = "" // delete
	}
	if err := s.store.SetSPKeyStatus(ctx, ws, change); err != nil {
		return err
	}
	s.audit(ctx, ws, "sso.sp_key_rollover_completed", map[string]any{"current_key": ks.next.ID, "previous_key": ks.current.ID})
	return nil
}

// ResetKeys discards every SP key of a workspace, also ones this server
// cannot open (sealed with a lost --secret-key), and makes a new current
// key. Unlike a rollover it breaks sign-ins until the IdP has the new
// certificate, if it checks AuthnRequest signatures or encrypts: it is the
// way out when the old keys are lost, not a routine step.
func (s *Server) ResetKeys(ctx context.Context, ws string) error {
	if _, err := s.dir.Workspace(ctx, ws); err != nil {
		return err
	}
	k, err := s.makeKey(ws, KeyCurrent)
	if err != nil {
		return err
	}
	// One write: a request making the workspace's first key in between
	// would otherwise take the current key's place.
	ids, err := s.store.ReplaceSPKeys(ctx, ws, k)
	if err != nil {
		return err
	}
	s.audit(ctx, ws, "sso.sp_keys_reset", map[string]any{"discarded_keys": ids, "current_key": k.ID})
	return nil
}

// Info is a workspace's SSO configuration for display (sso show).
type Info struct {
	WorkspaceID        string            `json:"workspace_id"`
	SSOPolicy          string            `json:"sso_policy"`
	EntityID           string            `json:"entity_id"`
	ACSURL             string            `json:"acs_url"`
	MetadataURL        string            `json:"metadata_url"`
	LoginURL           string            `json:"login_url"`
	Configured         bool              `json:"configured"`
	IdPEntityID        string            `json:"idp_entity_id,omitempty"`
	IdPSSOURL          string            `json:"idp_sso_url,omitempty"`
	IdPMetadataURL     string            `json:"idp_metadata_url,omitempty"`
	IdPMetadataFetched *time.Time        `json:"idp_metadata_fetched,omitempty"`
	IdPMetadataError   string            `json:"idp_metadata_error,omitempty"`
	IdPCertificates    []CertInfo        `json:"idp_certificates"`
	SPCertificates     []CertInfo        `json:"sp_certificates"`
	AllowIdPInitiated  bool              `json:"allow_idp_initiated"`
	AllowSHA1          bool              `json:"allow_sha1"`
	JIT                bool              `json:"jit"`
	ClockSkewSeconds   int               `json:"clock_skew_seconds"`
	Preset             string            `json:"attribute_preset"`
	AttributeMap       map[string]string `json:"attribute_map,omitempty"`
	LastLogin          json.RawMessage   `json:"last_login,omitempty"`
}

// Show returns a workspace's SSO configuration and URLs.
func (s *Server) Show(ctx context.Context, ws string) (*Info, error) {
	w, err := s.dir.Workspace(ctx, ws)
	if err != nil {
		return nil, err
	}
	now := s.now()
	info := &Info{WorkspaceID: ws, SSOPolicy: string(w.SSOPolicy), EntityID: s.EntityID(ws), ACSURL: s.ACSURL(ws),
		MetadataURL: s.EntityID(ws), LoginURL: s.base(ws) + "/login", IdPCertificates: []CertInfo{}, SPCertificates: []CertInfo{}}
	ks, err := s.ensureKeys(ctx, ws)
	if err != nil {
		return nil, err
	}
	for _, k := range []*spKey{ks.current, ks.next} {
		if k != nil {
			info.SPCertificates = append(info.SPCertificates, certInfo(k.cert, now))
		}
	}
	c, err := s.store.Connection(ctx, ws)
	if errors.Is(err, directory.ErrNotFound) {
		return info, nil
	} else if err != nil {
		return nil, err
	}
	info.Configured = true
	info.IdPEntityID, info.IdPSSOURL, info.IdPMetadataURL, info.IdPMetadataError = c.IdPEntityID, c.IdPSSOURL, c.MetadataURL, c.MetadataError
	if !c.MetadataFetched.IsZero() {
		info.IdPMetadataFetched = &c.MetadataFetched
	}
	certs, err := parseCerts(c.IdPCerts)
	if err != nil {
		return nil, err
	}
	for _, cert := range certs {
		info.IdPCertificates = append(info.IdPCertificates, certInfo(cert, now))
	}
	info.AllowIdPInitiated, info.AllowSHA1, info.JIT = c.AllowIdPInitiated, c.AllowSHA1, c.JIT
	info.ClockSkewSeconds = int(c.ClockSkew.Seconds())
	info.Preset, info.AttributeMap = c.Preset, c.AttributeMap
	if info.Preset == "" {
		info.Preset = "generic"
	}
	last, err := s.store.LastLogin(ctx, ws)
	if err != nil {
		return nil, err
	}
	if last != "" {
		info.LastLogin = json.RawMessage(last)
	}
	return info, nil
}
