// Package browser starts Debian's headless Chromium for tests and drives it
// with github.com/chromedp/chromedp, for end-to-end tests of browser flows
// such as SAML logins, where redirects, auto-submitted forms and SameSite
// cookie rules must be those of a real browser.
//
// It needs Debian's chromium package (apt-get install -y chromium; the
// chromium-driver package is not needed, chromedp speaks the DevTools
// protocol itself). When /usr/bin/chromium is missing, [New] skips the test
// with that command in its message, or fails it when ROLLCALL_TEST_STRICT=1.
//
// [New] starts one Chromium per test, with the flags this machine needs (it
// runs tests as root, with no network beyond the package registries):
// --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
// --disable-background-networking --disable-component-update --disable-sync,
// and a fresh --user-data-dir in tb.TempDir(). Chromium runs in its own
// process group; t.Cleanup closes it, then kills the group and anything else
// that still uses the profile. Every helper here takes the context from New,
// which carries the test's time limit (90 s, or the test's deadline if that
// is sooner), and fails the test with the current URL and page text when a
// step does not complete.
//
// # Cookies, SameSite and loopback
//
// What Chromium 156 does on http://127.0.0.1 (measured by TestSameSite in
// this package, which records the cookies each request carried, and by
// TestBrowserLogin in package ssp, which logs in through SimpleSAMLphp on
// 127.0.0.2):
//
//   - A site is scheme + registrable domain; for an IP address, the address
//     itself. Ports do not count. So an IdP on 127.0.0.1:A and an SP on
//     127.0.0.1:B are the SAME site, and the IdP's cross-origin form POST
//     to the SP's ACS carries the SP's SameSite=Lax and even Strict
//     cookies. A test on one loopback address therefore cannot catch an SP
//     that wrongly relies on a Lax cookie at its ACS. Put the IdP on
//     another address, e.g. 127.0.0.2 (all of 127.0.0.0/8 reaches the
//     loopback interface on Linux), or on "localhost": that is cross-site,
//     as in production.
//   - Cookies are also scoped by host and not by port, in Chromium and in
//     net/http/cookiejar: an SP and an IdP on one host share one cookie
//     namespace, so their cookie names must differ.
//   - Cross-site (IdP on 127.0.0.2, SP on 127.0.0.1): the IdP's auto-POST to
//     the ACS does NOT carry the SP's SameSite=Lax or Strict cookies. A 303
//     from the ACS to a completion URL on the SP turns it into a top-level
//     GET, which DOES carry the Lax cookie (Lax allows top-level
//     navigations with a safe method) but NOT the Strict one (the redirect
//     chain started on another site). This is the flow the SP relies on: a
//     SameSite=Lax nonce cookie, checked at the completion URL after the
//     ACS answers 303.
//   - A cookie with no SameSite attribute is treated as Lax, except that
//     Chromium sends it on a cross-site top-level POST during the first 2
//     minutes of its life ("Lax-allowing-unsafe"; measured: the fresh
//     cookie reached the ACS; the 2-minute limit is Chromium's documented
//     rule, not measured here). A test can thus pass with a fresh
//     attribute-less cookie that a real login, started more than 2
//     minutes earlier, would not send. Always set SameSite explicitly.
//   - http://127.0.0.1 is a potentially trustworthy origin, and Chromium
//     stores a Secure cookie set over plain http by it, and sends it back
//     (measured with SameSite=None; Secure, which then also crosses
//     sites). The spec treats all of 127.0.0.0/8 and localhost alike. Go's
//     net/http/cookiejar does not send Secure cookies over http, so a
//     scripted (no-browser) client sees a different cookie set.
package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"rollcall/internal/testenv/logtail"
)

// ExecPath is where Debian's chromium package installs the browser.
const ExecPath = "/usr/bin/chromium"

// InstallHint is the command that installs what this package needs.
const InstallHint = "apt-get install -y --no-install-recommends chromium"

// DefaultTimeout bounds everything a test does with the browser from New.
// It is generous because CI runs every package's tests at once on 2 cores
// with -race; a flow that works takes 1 to 10 s.
const DefaultTimeout = 90 * time.Second

const (
	strictEnv     = "ROLLCALL_TEST_STRICT"
	startTimeout  = 30 * time.Second // Chromium up and the first tab open
	closeTimeout  = 10 * time.Second // graceful close at cleanup
	maxOutput     = 1 << 20          // Chromium output kept for failure logs
	pollInterval  = 50 * time.Millisecond
	textForErrors = 1500
)

// New starts a headless Chromium for the test and returns a chromedp context
// for its first tab, limited to [DefaultTimeout] (or the test's deadline, if
// sooner). Use it with chromedp.Do and chromedp.Run, or with the helpers of
// this package. The browser is closed, and every process it started killed,
// in tb.Cleanup; if the test failed by then, the current URL, page text and
// Chromium's output are logged.
func New(tb testing.TB) context.Context {
	tb.Helper()
	return NewWithTimeout(tb, DefaultTimeout)
}

// NewWithTimeout is like New with a time limit other than DefaultTimeout.
// The test's deadline, if sooner, still wins.
func NewWithTimeout(tb testing.TB, timeout time.Duration) context.Context {
	tb.Helper()
	requireChromium(tb)

	dataDir := tb.TempDir() // removed after the cleanups below have run
	out := &logtail.Buffer{Max: maxOutput}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ExecPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dataDir),
		chromedp.CombinedOutput(out),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			// Own process group, so that cleanup can kill every
			// child; Pdeathsig as chromedp sets it by default, so
			// Chromium dies with the test binary.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		}),
	)
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, browserCancel := chromedp.NewContext(allocCtx)

	var pid int
	cleanup := func() {
		// Graceful close first; then make sure.
		cctx, ccancel := context.WithTimeout(browserCtx, closeTimeout)
		_ = chromedp.Cancel(cctx) // errors here only mean it was already gone
		ccancel()
		browserCancel()
		allocCancel()
		if pid > 0 {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		killUsing(dataDir)
	}

	// The first Run starts the browser and binds its life to browserCtx, so
	// it cannot have a timeout itself: bound it from outside.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browserCtx) }()
	select {
	case err := <-started:
		if err != nil {
			cleanup()
			tb.Fatalf("browser.New: start %s: %v\nChromium output:\n%s", ExecPath, err, logtail.Tail(out.String(), 8<<10))
		}
	case <-time.After(startTimeout):
		cleanup()
		<-started
		tb.Fatalf("browser.New: %s did not start within %v\nChromium output:\n%s", ExecPath, startTimeout, logtail.Tail(out.String(), 8<<10))
	}
	if c := chromedp.FromContext(browserCtx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		pid = c.Browser.Process().Pid
	}

	if d, ok := deadline(tb); ok {
		if left := time.Until(d) - 5*time.Second; left < timeout {
			timeout = max(left, time.Second)
		}
	}
	ctx, cancel := context.WithTimeout(browserCtx, timeout)
	tb.Cleanup(func() {
		if tb.Failed() {
			logState(tb, browserCtx, out)
		}
		cancel()
		cleanup()
	})
	return ctx
}

// logState logs where the browser is, for a failed test.
func logState(tb testing.TB, browserCtx context.Context, out *logtail.Buffer) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(browserCtx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	tb.Logf("browser at %s\npage text: %s\nChromium output (tail):\n%s", loc, shorten(text), logtail.Tail(out.String(), 4<<10))
}

// Navigate loads url in the tab, waits for the load event and returns the
// HTTP status of the document (after redirects).
func Navigate(tb testing.TB, ctx context.Context, url string) int {
	tb.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		tb.Fatalf("browser: navigate to %s: %v%s", url, err, where(ctx))
	}
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// WaitURL waits until the tab's URL starts with prefix, for example after a
// chain of redirects and auto-submitted forms, and returns the URL.
func WaitURL(tb testing.TB, ctx context.Context, prefix string) string {
	tb.Helper()
	var last string
	for {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil {
			last = loc
			if strings.HasPrefix(loc, prefix) {
				// Wait for the document there to be usable.
				if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`)); err == nil {
					return loc
				}
			}
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("browser: waiting for a URL starting with %s: %v; last URL %s%s", prefix, ctx.Err(), last, where(ctx))
		case <-time.After(pollInterval):
		}
	}
}

// SubmitForm waits for the form that formSelector (CSS) matches, sets its
// fields by name (text, password and hidden inputs, textareas and selects),
// and submits it as a click on a submit button would (requestSubmit, so
// submit handlers run). It does not wait for the next page: follow it with
// WaitURL.
func SubmitForm(tb testing.TB, ctx context.Context, formSelector string, fields map[string]string) {
	tb.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(formSelector))); err != nil {
		tb.Fatalf("browser: waiting for form %s: %v%s", formSelector, err, where(ctx))
	}
	sel, err := json.Marshal(formSelector)
	if err != nil {
		tb.Fatalf("browser: encode selector: %v", err)
	}
	vals, err := json.Marshal(fields)
	if err != nil {
		tb.Fatalf("browser: encode fields: %v", err)
	}
	js := fmt.Sprintf(`(function(sel, fields) {
	const form = document.querySelector(sel);
	if (!(form instanceof HTMLFormElement)) return "no form matches " + sel;
	for (const [name, value] of Object.entries(fields)) {
		const el = form.elements.namedItem(name);
		if (!el) return "the form has no field " + name;
		el.value = value;
	}
	HTMLFormElement.prototype.requestSubmit.call(form);
	return "";
})(%s, %s)`, sel, vals)
	msg, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		tb.Fatalf("browser: submit form %s: %v%s", formSelector, err, where(ctx))
	}
	if msg != "" {
		tb.Fatalf("browser: submit form %s: %s%s", formSelector, msg, where(ctx))
	}
}

// Location returns the tab's current URL.
func Location(tb testing.TB, ctx context.Context) string {
	tb.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		tb.Fatalf("browser: read location: %v", err)
	}
	return loc
}

// Text returns the visible text of the page (document.body.innerText).
func Text(tb testing.TB, ctx context.Context) string {
	tb.Helper()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		tb.Fatalf("browser: read page text: %v%s", err, where(ctx))
	}
	return text
}

// Status returns the HTTP status of the current document, also when it was
// reached by a form POST or a redirect (from the Navigation Timing entry),
// or 0 when the browser does not know it.
func Status(tb testing.TB, ctx context.Context) int {
	tb.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`(performance.getEntriesByType("navigation")[0] || {}).responseStatus || 0`))
	if err != nil {
		tb.Fatalf("browser: read status: %v%s", err, where(ctx))
	}
	return s
}

// Cookies returns the cookies the browser would send to each of urls, or,
// with no urls, to the current page. They include HttpOnly cookies.
func Cookies(tb testing.TB, ctx context.Context, urls ...string) []*network.Cookie {
	tb.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: urls})
	if err != nil {
		tb.Fatalf("browser: read cookies for %q: %v", urls, err)
	}
	return res.Cookies
}

// Cookie returns the named cookie that the browser would send to url, or
// nil.
func Cookie(tb testing.TB, ctx context.Context, url, name string) *network.Cookie {
	tb.Helper()
	for _, c := range Cookies(tb, ctx, url) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// where describes the tab for an error message, without failing.
func where(ctx context.Context) string {
	c := chromedp.FromContext(ctx)
	if c == nil {
		return ""
	}
	// ctx may be done already: look with a fresh, short deadline on the
	// browser's own context.
	base := context.WithoutCancel(ctx)
	qctx, cancel := context.WithTimeout(base, 3*time.Second)
	defer cancel()
	loc, err := chromedp.Run(qctx, chromedp.Location())
	if err != nil {
		return ""
	}
	text, _ := chromedp.Run(qctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return fmt.Sprintf("\nbrowser at %s\npage text: %s", loc, shorten(text))
}

func requireChromium(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(ExecPath); err == nil {
		return
	}
	msg := "headless Chromium unavailable: " + ExecPath + " is missing; install with: " + InstallHint
	if os.Getenv(strictEnv) == "1" {
		tb.Fatal(msg + " (" + strictEnv + "=1, so this is a failure)")
	}
	tb.Skip(msg)
}

func deadline(tb testing.TB) (time.Time, bool) {
	if d, ok := tb.(interface{ Deadline() (time.Time, bool) }); ok {
		return d.Deadline()
	}
	return time.Time{}, false
}

// killUsing kills the processes whose command line has
// --user-data-dir=dir. The directory is this test's own TempDir, so only
// this test's Chromium matches; children that left the process group (if
// any) are found this way too.
func killUsing(dir string) {
	want := []byte("--user-data-dir=" + dir)
	for pass := 0; pass < 3; pass++ {
		entries, err := os.ReadDir("/proc")
		if err != nil {
			return
		}
		found := false
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			if err != nil {
				continue
			}
			for _, arg := range strings.Split(string(cmdline), "\x00") {
				if arg == string(want) {
					if err := syscall.Kill(pid, syscall.SIGKILL); err == nil || !errors.Is(err, syscall.ESRCH) {
						found = true
					}
					break
				}
			}
		}
		if !found {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > textForErrors {
		return s[:textForErrors] + "…"
	}
	return s
}
