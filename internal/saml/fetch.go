package saml

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"rollcall/internal/saml/metadata"
)

// Fetcher fetches IdP metadata URLs. The URL is chosen by a workspace
// admin, so the fetch is an outbound request on their behalf and is
// bounded: https only, 10 seconds, 2 MiB, at most 3 redirects, and no
// connection to loopback, private, link-local, multicast or unspecified
// addresses — checked on the address actually dialled, after DNS, so a
// name that resolves to 127.0.0.1 or a redirect to 169.254.169.254 fails
// too. AllowPrivate (serve --allow-private-addresses) lifts the address
// rule and allows plain http, for labs and tests.
type Fetcher struct {
	AllowPrivate bool
	Timeout      time.Duration
}

// ErrBlockedAddress is returned for a fetch that would reach a disallowed
// address.
var ErrBlockedAddress = errors.New("the address is loopback, private or link-local; Rollcall does not fetch from those (an operator can allow it with serve --allow-private-addresses)")

func (f *Fetcher) client() *http.Client {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: timeout, Control: func(network, address string, _ syscall.RawConn) error {
		if f.AllowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("unexpected address %q: %w", address, err)
		}
		if blocked(ap.Addr()) {
			return ErrBlockedAddress
		}
		return nil
	}}
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		Proxy:                 nil, // never route admin-chosen URLs through an environment proxy
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("more than 3 redirects")
			}
			return f.checkURL(req.URL)
		},
	}
}

func blocked(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(a) // carrier-grade NAT, often internal
}

func (f *Fetcher) checkURL(u *url.URL) error {
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && f.AllowPrivate:
	default:
		return fmt.Errorf("the metadata URL must use https, not %q", u.Scheme+"://")
	}
	if u.Host == "" {
		return errors.New("the metadata URL has no host")
	}
	return nil
}

// Fetch returns the body at rawURL, or an error an IT admin can act on.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("the metadata URL is not a URL: %v", err)
	}
	if err := f.checkURL(u); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	req.Header.Set("User-Agent", "Rollcall metadata fetcher")
	resp, err := f.client().Do(req)
	if err != nil {
		if errors.Is(err, ErrBlockedAddress) {
			return nil, fmt.Errorf("fetching %s: %w", u.Redacted(), ErrBlockedAddress)
		}
		return nil, fmt.Errorf("fetching %s failed: %v", u.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: the IdP answered HTTP %d; check the metadata URL", u.Redacted(), resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, metadata.MaxIdPBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", u.Redacted(), err)
	}
	if len(body) > metadata.MaxIdPBytes {
		return nil, fmt.Errorf("the metadata at %s is larger than %d bytes", u.Redacted(), metadata.MaxIdPBytes)
	}
	return body, nil
}
