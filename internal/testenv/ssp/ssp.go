// Package ssp runs SimpleSAMLphp as a real SAML 2.0 identity provider for Go
// tests, so that Rollcall's service provider is tested against IdP software
// that it did not write (PHP, xmlseclibs) rather than against itself.
//
// It needs Debian's simplesamlphp 1.19 package and a PHP CLI with the XML
// extensions:
//
//	apt-get install -y --no-install-recommends \
//	    simplesamlphp php8.2-cli php8.2-xml php8.2-mbstring php8.2-curl
//
// When they are missing, [Start] skips the test with that command in its
// message, or fails it when ROLLCALL_TEST_STRICT=1 (as `make test` and CI
// set it).
//
// # How it runs
//
// [Start] generates the IdP key and a self-signed certificate in Go, writes
// the whole SimpleSAMLphp configuration into tb.TempDir() (selected with
// SIMPLESAMLPHP_CONFIG_DIR, so /etc/simplesamlphp is never read), and starts
// `php -S` with opcache off on a free loopback port, in its own process
// group that t.Cleanup kills. Every setting lives in one state.json that the
// PHP config files read on each request, so [IdP.SetOptions],
// [IdP.SetSPMetadata] and the key rotation methods take effect at once,
// without a restart.
//
// Users log in through exampleauth:UserPass with static users and
// attributes. The SP's metadata is given verbatim, through SimpleSAMLphp's
// "xml" metadata source: one file per SP entity ID.
//
// # Logging in
//
// [IdP.Login] drives the IdP with a plain *http.Client (no browser): it
// follows the redirects to the login form, posts the credentials and returns
// the auto-POST form that the IdP would have the browser submit, as a
// [*Post], so the test decides where and when it is POSTed. For a browser
// test, fill the form [LoginFormSelector] with the fields "username" and
// "password" (see package rollcall/internal/testenv/browser).
//
// # Things that matter to an SP under test
//
//   - The NameID format comes from the first NameIDFormat in the SP's
//     metadata, and only when it has none from [Options.NameIDFormat]
//     (SimpleSAMLphp 1.19, modules/saml/lib/IdP/SAML2.php). A NameIDPolicy
//     in the AuthnRequest does not change it.
//   - By default the Response and the Assertion are both signed, with
//     RSA-SHA256, SHA-256 digests and exclusive c14n, and the KeyInfo holds
//     the signing certificate.
//   - [Options.EncryptAssertion] encrypts to the certificate in the SP
//     metadata's KeyDescriptor use="encryption" (AES-128-CBC key wrapped
//     with RSA-OAEP-MGF1P).
//   - The IdP's cookies are SimpleSAMLSessionID, SimpleSAML and
//     SimpleSAMLAuthToken, with no SameSite attribute and no Secure flag.
//     Cookies are scoped by host, not by port: an SP on the same host must
//     not use these names.
//   - Give [Options.Host] "127.0.0.2" (or "localhost") to put the IdP on a
//     different site from an SP on 127.0.0.1; two ports of one host are the
//     same site for SameSite cookies.
package ssp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"rollcall/internal/testenv/logtail"
)

// Root is where Debian's simplesamlphp package installs SimpleSAMLphp.
const Root = "/usr/share/simplesamlphp"

// InstallHint is the command that installs what this package needs.
const InstallHint = "apt-get install -y --no-install-recommends simplesamlphp php8.2-cli php8.2-xml php8.2-mbstring php8.2-curl"

// LoginFormSelector is a CSS selector for SimpleSAMLphp's login form, whose
// fields are named "username" and "password".
const LoginFormSelector = `form[name="f"]`

// NameID formats for [Options.NameIDFormat].
const (
	NameIDEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	NameIDPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	NameIDTransient   = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
)

// Attribute name formats for [Options.AttributeNameFormat].
const (
	AttrNameFormatBasic = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
	AttrNameFormatURI   = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
)

// strictEnv is the environment variable that turns a skip for a missing
// tool into a failure.
const strictEnv = "ROLLCALL_TEST_STRICT"

const (
	startTimeout   = 30 * time.Second // php -S up and metadata answering
	requestTimeout = 20 * time.Second // one HTTP request to the IdP
	loginTimeout   = 60 * time.Second // a whole scripted login
	maxLogBytes    = 4 << 20          // php -S output kept for Logs
)

// User is a user of the IdP's exampleauth:UserPass source.
type User struct {
	// Username is the login name. It must not contain ':'.
	Username string
	// Password is the login password.
	Password string
	// Attributes are released to every SP, each with one or more values.
	// The attribute named by Options.NameIDAttribute ("email" by default)
	// gives the NameID.
	Attributes map[string][]string
}

// DefaultUsers returns the users that [Start] creates when Options.Users is
// empty: alice/alicepass and bob/bobpass, each with uid, email, firstName,
// lastName and groups (alice's groups has two values).
func DefaultUsers() []User {
	return []User{
		{Username: "alice", Password: "alicepass", Attributes: map[string][]string{
			"uid": {"alice"}, "email": {"alice@example.com"}, "firstName": {"Alice"},
			"lastName": {"Liddell"}, "groups": {"engineering", "admins"},
		}},
		{Username: "bob", Password: "bobpass", Attributes: map[string][]string{
			"uid": {"bob"}, "email": {"bob@example.com"}, "firstName": {"Bob"},
			"lastName": {"Builder"}, "groups": {"sales"},
		}},
	}
}

// Options configures the IdP. The zero value is a working IdP with
// [DefaultUsers], RSA-SHA256 signatures on both Response and Assertion, no
// encryption and emailAddress NameIDs taken from the "email" attribute.
type Options struct {
	// Host is the loopback host that the IdP listens on and names in its
	// URLs: "127.0.0.1" (the default), another 127.x.y.z address, or
	// "localhost" (which listens on 127.0.0.1). Only Start reads it;
	// SetOptions fails when it changes.
	Host string

	// Users are the accounts that can log in. Empty means DefaultUsers().
	Users []User

	// SignatureAlgorithm is "rsa-sha256" (the default when empty),
	// "rsa-sha1", "rsa-sha384", "rsa-sha512", or a full algorithm URI.
	// SimpleSAMLphp uses the matching digest.
	SignatureAlgorithm string

	// EncryptAssertion encrypts the Assertion to the SP's encryption
	// certificate, which the SP metadata must then have.
	EncryptAssertion bool

	// NameIDFormat is the NameID format used when the SP metadata names
	// none. Empty means NameIDEmail.
	NameIDFormat string

	// NameIDAttribute is the user attribute whose first value becomes the
	// NameID for non-transient formats. Empty means "email".
	NameIDAttribute string

	// AttributeNameFormat is the NameFormat of the released attributes.
	// Empty means AttrNameFormatBasic.
	AttributeNameFormat string

	// SignResponse and SignAssertion choose what is signed. Nil means true
	// for both, SimpleSAMLphp's default. SimpleSAMLphp reads the SP
	// metadata's WantAssertionsSigned as a per-SP setting that wins: with
	// WantAssertionsSigned="true", the Assertion is signed whatever
	// SignAssertion says.
	SignResponse, SignAssertion *bool

	// Hosted holds extra entries for the saml20-idp-hosted metadata array,
	// for knobs that Options has no field for (for example
	// "nameid.encryption" or "assertion.lifetime"). They override the
	// entries that the harness sets. Values must encode to JSON.
	Hosted map[string]any
}

// Bool returns a pointer to b, for Options.SignResponse and SignAssertion.
func Bool(b bool) *bool { return &b }

// IdP is a running SimpleSAMLphp identity provider. Its methods are safe for
// concurrent use.
type IdP struct {
	dir     string // the harness's temp dir
	baseURL string // "http://host:port/"
	host    string

	logs *logtail.Buffer

	mu        sync.Mutex
	opts      Options
	keys      []keyPair // every key pair generated, by generation
	active    int       // index in keys of the signing key
	next      int       // index in keys published as new_certificate, or -1
	keepOld   int       // index in keys of an old cert still published, or -1
	spACS     map[string][]string
	saltHex   string
	adminPass string
}

// Start starts a SimpleSAMLphp IdP for the test and stops it in tb.Cleanup.
// It fails the test when the IdP does not answer within 30 seconds, and
// skips it (fails under ROLLCALL_TEST_STRICT=1) when PHP or SimpleSAMLphp
// is not installed.
func Start(tb testing.TB, opts Options) *IdP {
	tb.Helper()
	requireTools(tb)
	host, listenHost, err := checkHost(opts.Host)
	if err != nil {
		tb.Fatalf("ssp.Start: %v", err)
	}
	opts = withDefaults(opts)
	if err := validate(opts); err != nil {
		tb.Fatalf("ssp.Start: %v", err)
	}

	i := &IdP{
		dir:       tb.TempDir(),
		host:      host,
		opts:      opts,
		next:      -1,
		keepOld:   -1,
		spACS:     map[string][]string{},
		saltHex:   randomHex(16),
		adminPass: randomHex(16),
	}
	for _, d := range []string{"config", "metadata", "cert", "data", "tmp", "log", "sp"} {
		if err := os.Mkdir(filepath.Join(i.dir, d), 0o700); err != nil {
			tb.Fatalf("ssp.Start: %v", err)
		}
	}
	if err := i.addKey(); err != nil {
		tb.Fatalf("ssp.Start: %v", err)
	}
	if err := writeStaticFiles(i.dir); err != nil {
		tb.Fatalf("ssp.Start: %v", err)
	}

	// A port chosen by listening on :0 and closing can be taken by another
	// process before php binds it, so try a few times.
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		port, err := freePort(listenHost)
		if err != nil {
			tb.Fatalf("ssp.Start: %v", err)
		}
		i.baseURL = "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/"
		if err := i.writeStateLocked(); err != nil {
			tb.Fatalf("ssp.Start: %v", err)
		}
		i.logs = &logtail.Buffer{Max: maxLogBytes} // only this attempt's output
		lastErr = i.startPHP(tb, net.JoinHostPort(listenHost, strconv.Itoa(port)))
		if lastErr == nil {
			return i
		}
		if !errors.Is(lastErr, errAddrInUse) {
			break
		}
	}
	tb.Fatalf("ssp.Start: %v\nphp -S output:\n%s", lastErr, logtail.Tail(i.logs.String(), 8<<10))
	return nil
}

var errAddrInUse = errors.New("address already in use")

// startPHP starts php -S on addr and waits until the IdP metadata answers.
// On failure the process is gone when it returns.
func (i *IdP) startPHP(tb testing.TB, addr string) error {
	tb.Helper()
	cmd := exec.Command("php",
		"-d", "opcache.enable=0",
		"-d", "opcache.enable_cli=0",
		"-d", "display_errors=stderr",
		"-d", "memory_limit=256M",
		"-S", addr, "-t", filepath.Join(Root, "www"))
	cmd.Dir = i.dir
	cmd.Env = append(os.Environ(), "SIMPLESAMLPHP_CONFIG_DIR="+filepath.Join(i.dir, "config"))
	cmd.Stdout = i.logs
	cmd.Stderr = i.logs
	p, err := startProcess(cmd)
	if err != nil {
		return fmt.Errorf("start php -S: %w", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, i.MetadataURL(), nil)
		if err != nil {
			p.kill()
			return fmt.Errorf("metadata request: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte("EntityDescriptor")) {
				tb.Cleanup(func() {
					p.kill()
					if tb.Failed() {
						tb.Logf("SimpleSAMLphp (%s) output, last 16 KiB:\n%s", i.baseURL, logtail.Tail(i.logs.String(), 16<<10))
					}
				})
				return nil
			}
			p.kill()
			return fmt.Errorf("GET %s: status %d: %s", i.MetadataURL(), resp.StatusCode, snippet(string(body)))
		}
		select {
		case <-p.done:
			if strings.Contains(i.logs.String(), "Address already in use") {
				return fmt.Errorf("php -S %s: %w", addr, errAddrInUse)
			}
			return fmt.Errorf("php -S %s exited before it answered: %v", addr, p.err)
		case <-ctx.Done():
			p.kill()
			return fmt.Errorf("IdP metadata did not answer within %v: %v", startTimeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// BaseURL returns the IdP's base URL, for example "http://127.0.0.1:41234/".
func (i *IdP) BaseURL() string { return i.baseURL }

// EntityID returns the IdP's entity ID, which is its metadata URL.
func (i *IdP) EntityID() string { return i.MetadataURL() }

// MetadataURL returns the URL of the IdP's SAML metadata.
func (i *IdP) MetadataURL() string { return i.baseURL + "saml2/idp/metadata.php" }

// SSOURL returns the IdP's SingleSignOnService URL (HTTP-Redirect and
// HTTP-POST bindings).
func (i *IdP) SSOURL() string { return i.baseURL + "saml2/idp/SSOService.php" }

// SLOURL returns the IdP's SingleLogoutService URL.
func (i *IdP) SLOURL() string { return i.baseURL + "saml2/idp/SingleLogoutService.php" }

// IdPInitiatedURL returns the URL that starts an IdP-initiated login to the
// SP spEntityID, whose Response will carry relayState (omitted when empty).
func (i *IdP) IdPInitiatedURL(spEntityID, relayState string) string {
	q := url.Values{"spentityid": {spEntityID}}
	if relayState != "" {
		q.Set("RelayState", relayState)
	}
	return i.SSOURL() + "?" + q.Encode()
}

// Metadata fetches the IdP's metadata, as an SP would import it.
func (i *IdP) Metadata(tb testing.TB) []byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, i.MetadataURL(), nil)
	if err != nil {
		tb.Fatalf("ssp: metadata request: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("ssp: GET %s: %v", i.MetadataURL(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		tb.Fatalf("ssp: read metadata: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("ssp: GET %s: status %d: %s\n%s", i.MetadataURL(), resp.StatusCode, snippet(string(body)), i.logTail())
	}
	return body
}

// CertificatePEM returns the PEM certificate of the key the IdP signs with
// now.
func (i *IdP) CertificatePEM() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return string(i.keys[i.active].certPEM)
}

// Certificate returns the certificate of the key the IdP signs with now.
func (i *IdP) Certificate() *x509.Certificate {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.keys[i.active].cert
}

// KeyPEM returns the PEM (PKCS #8) private key the IdP signs with now, for
// tests that mint their own Responses in the IdP's name.
func (i *IdP) KeyPEM() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return string(i.keys[i.active].keyPEM)
}

// NextCertificatePEM returns the certificate published by
// [IdP.BeginKeyRotation], or "" when no rotation is in progress.
func (i *IdP) NextCertificatePEM() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.next < 0 {
		return ""
	}
	return string(i.keys[i.next].certPEM)
}

// Options returns the options in force, with defaults filled in.
func (i *IdP) Options() Options {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.opts
}

// SetOptions replaces the IdP's options. The next request uses them; no
// restart is needed. Options.Host must not change.
func (i *IdP) SetOptions(tb testing.TB, opts Options) {
	tb.Helper()
	host, _, err := checkHost(opts.Host)
	if err != nil {
		tb.Fatalf("ssp.SetOptions: %v", err)
	}
	if host != i.host {
		tb.Fatalf("ssp.SetOptions: Host %q differs from %q given to Start; start another IdP instead", opts.Host, i.host)
	}
	opts = withDefaults(opts)
	if err := validate(opts); err != nil {
		tb.Fatalf("ssp.SetOptions: %v", err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.opts = opts
	if err := i.writeStateLocked(); err != nil {
		tb.Fatalf("ssp.SetOptions: %v", err)
	}
}

// SetSPMetadata adds the SP described by metadata (one md:EntityDescriptor),
// or replaces the metadata of the SP with the same entity ID. SimpleSAMLphp
// reads the bytes as they are, through its "xml" metadata source. It
// returns the SP's entity ID.
func (i *IdP) SetSPMetadata(tb testing.TB, metadata []byte) string {
	tb.Helper()
	entityID, acs, err := parseSPMetadata(metadata)
	if err != nil {
		tb.Fatalf("ssp.SetSPMetadata: %v", err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if err := writeFileAtomic(i.spFile(entityID), metadata); err != nil {
		tb.Fatalf("ssp.SetSPMetadata: %v", err)
	}
	i.spACS[entityID] = acs
	return entityID
}

// RemoveSP removes the metadata of the SP entityID, so that the IdP no
// longer knows it.
func (i *IdP) RemoveSP(tb testing.TB, entityID string) {
	tb.Helper()
	i.mu.Lock()
	defer i.mu.Unlock()
	if err := os.Remove(i.spFile(entityID)); err != nil {
		tb.Fatalf("ssp.RemoveSP: %v", err)
	}
	delete(i.spACS, entityID)
}

func (i *IdP) spFile(entityID string) string {
	sum := sha256.Sum256([]byte(entityID))
	return filepath.Join(i.dir, "sp", hex.EncodeToString(sum[:12])+".xml")
}

// BeginKeyRotation generates a new key pair and publishes its certificate in
// the metadata next to the current one (SimpleSAMLphp's new_certificate,
// listed first). The IdP still signs with the current key.
func (i *IdP) BeginKeyRotation(tb testing.TB) {
	tb.Helper()
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.next >= 0 {
		tb.Fatalf("ssp.BeginKeyRotation: a rotation is already in progress")
	}
	if err := i.addKey(); err != nil {
		tb.Fatalf("ssp.BeginKeyRotation: %v", err)
	}
	i.next = len(i.keys) - 1
	i.keepOld = -1
	if err := i.writeStateLocked(); err != nil {
		tb.Fatalf("ssp.BeginKeyRotation: %v", err)
	}
}

// CompleteKeyRotation makes the IdP sign with the key published by
// BeginKeyRotation. The metadata then lists only the new certificate, or,
// with keepOld, the old certificate (first) and the new one, as during an
// overlap period in which the old certificate is still trusted by peers.
func (i *IdP) CompleteKeyRotation(tb testing.TB, keepOld bool) {
	tb.Helper()
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.next < 0 {
		tb.Fatalf("ssp.CompleteKeyRotation: BeginKeyRotation was not called")
	}
	old := i.active
	i.active, i.next = i.next, -1
	i.keepOld = -1
	if keepOld {
		i.keepOld = old
	}
	if err := i.writeStateLocked(); err != nil {
		tb.Fatalf("ssp.CompleteKeyRotation: %v", err)
	}
}

// Logs returns what php -S and SimpleSAMLphp printed so far (its log goes to
// stderr at DEBUG level), for failure messages. Only the last 4 MiB are
// kept.
func (i *IdP) Logs() string { return i.logs.String() }

func (i *IdP) logTail() string {
	return "SimpleSAMLphp log (tail):\n" + logtail.Tail(i.logs.String(), 6<<10)
}

// addKey generates a key pair and stores it as cert/idp-N.{key,crt}.
// Callers hold i.mu or have not shared i yet.
func (i *IdP) addKey() error {
	n := len(i.keys)
	kp, err := newKeyPair(fmt.Sprintf("ssp-idp-%d.test", n))
	if err != nil {
		return err
	}
	kp.name = fmt.Sprintf("idp-%d", n)
	if err := os.WriteFile(filepath.Join(i.dir, "cert", kp.name+".key"), kp.keyPEM, 0o600); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(i.dir, "cert", kp.name+".crt"), kp.certPEM, 0o600); err != nil {
		return fmt.Errorf("write certificate: %w", err)
	}
	i.keys = append(i.keys, kp)
	return nil
}

// requireTools skips or fails the test when PHP or SimpleSAMLphp is missing.
func requireTools(tb testing.TB) {
	tb.Helper()
	var missing []string
	if _, err := exec.LookPath("php"); err != nil {
		missing = append(missing, "php (php8.2-cli)")
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "php", "-r",
			`foreach (["dom", "openssl", "mbstring", "xml"] as $e) { if (!extension_loaded($e)) { echo $e, " "; } }`).CombinedOutput()
		if err != nil {
			missing = append(missing, fmt.Sprintf("a working php (php -r failed: %v: %s)", err, snippet(string(out))))
		} else if s := strings.TrimSpace(string(out)); s != "" {
			missing = append(missing, "PHP extensions "+s+"(php8.2-xml, php8.2-mbstring)")
		}
	}
	if _, err := os.Stat(filepath.Join(Root, "www", "saml2", "idp", "metadata.php")); err != nil {
		missing = append(missing, "SimpleSAMLphp in "+Root+" (simplesamlphp)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "SimpleSAMLphp IdP unavailable: missing " + strings.Join(missing, ", ") + "; install with: " + InstallHint
	if os.Getenv(strictEnv) == "1" {
		tb.Fatal(msg + " (" + strictEnv + "=1, so this is a failure)")
	}
	tb.Skip(msg)
}
