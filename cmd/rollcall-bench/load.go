package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// A job is one measured unit of work: one request, or one completed
// sign-in. It returns an error for anything unexpected.
type job func(ctx context.Context) error

// measurement is what one row measured.
type measurement struct {
	n        int
	wall     time.Duration
	p50, p99 time.Duration
}

// rate returns units per second.
func (m measurement) rate() float64 { return float64(m.n) / m.wall.Seconds() }

// runLoad runs each client's jobs in order, all clients at once, and
// measures every job. The first error stops every client and is returned:
// a benchmark that goes on past a failure measures something else.
func runLoad(ctx context.Context, clients [][]job) (measurement, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	samples := make([][]time.Duration, len(clients))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k, jobs := range clients {
		samples[k] = make([]time.Duration, 0, len(jobs))
		wg.Go(func() {
			<-start
			for _, j := range jobs {
				if ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := j(ctx); err != nil {
					cancel(err)
					return
				}
				samples[k] = append(samples[k], time.Since(t0))
			}
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(t0)
	if err := context.Cause(ctx); err != nil {
		return measurement{}, err
	}
	all := slices.Concat(samples...)
	if len(all) == 0 {
		return measurement{}, fmt.Errorf("no requests were made")
	}
	slices.Sort(all)
	return measurement{n: len(all), wall: wall, p50: percentile(all, 50), p99: percentile(all, 99)}, nil
}

// percentile returns the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100 // ceil(p/100 × N)
	return sorted[max(i-1, 0)]
}

// split deals jobs round robin to c clients.
func split(jobs []job, c int) [][]job {
	out := make([][]job, c)
	for i, j := range jobs {
		out[i%c] = append(out[i%c], j)
	}
	return out
}

// httpClient talks to the server under test like an IdP or a browser
// would: keep-alive connections, no cookie jar, redirects not followed.
type httpClient struct {
	hc    *http.Client
	base  string // http://127.0.0.1:port
	token string // SCIM bearer token, if any
}

func newHTTPClient(base, token string, conns int) *httpClient {
	tr := &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        conns + 4,
		MaxIdleConnsPerHost: conns + 4,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &httpClient{base: base, token: token, hc: &http.Client{
		Transport:     tr,
		Timeout:       2 * time.Minute, // bounded, generous: a 1,000-member PATCH on a busy machine
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *httpClient) close() { c.hc.CloseIdleConnections() }

// request describes one HTTP request and what a correct answer is.
type request struct {
	method, path string // path includes the query
	body         []byte
	contentType  string
	cookie       string                                 // Cookie header, as a browser would send it
	want         []int                                  // acceptable statuses
	check        func(h http.Header, body []byte) error // optional
}

// do sends r and checks the answer; any other status is an error that
// carries the response body.
func (c *httpClient) do(ctx context.Context, r *request) (http.Header, []byte, error) {
	url := r.path
	if url == "" || url[0] == '/' {
		url = c.base + r.path
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, url, body)
	if err != nil {
		return nil, nil, err
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.cookie != "" {
		req.Header.Set("Cookie", r.cookie)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", "rollcall-bench (Okta SCIM Client 1.0.0 shape)")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read body: %w", r.method, r.path, err)
	}
	if !slices.Contains(r.want, resp.StatusCode) {
		return nil, nil, fmt.Errorf("%s %s: status %d, want %v; body: %s", r.method, r.path, resp.StatusCode, r.want, clip(data, 2000))
	}
	if r.check != nil {
		if err := r.check(resp.Header, data); err != nil {
			return nil, nil, fmt.Errorf("%s %s: %v; body: %s", r.method, r.path, err, clip(data, 2000))
		}
	}
	return resp.Header, data, nil
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// jsonInt returns the integer value of the last "key": in a JSON
// document. List responses put totalResults and itemsPerPage after their
// Resources, so the last occurrence is the top-level one; this avoids
// decoding a hundred users per request on the client, which shares the
// machine with the server.
func jsonInt(body []byte, key string) (int, bool) {
	i := bytes.LastIndex(body, []byte(`"`+key+`":`))
	if i < 0 {
		return 0, false
	}
	rest := bytes.TrimLeft(body[i+len(key)+3:], " \t\r\n")
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	v, err := strconv.Atoi(string(rest[:j]))
	return v, err == nil
}

// wantInt checks a top-level integer of a list response.
func wantInt(body []byte, key string, want int) error {
	got, ok := jsonInt(body, key)
	if !ok {
		return fmt.Errorf("no %s in the response", key)
	}
	if got != want {
		return fmt.Errorf("%s = %d, want %d", key, got, want)
	}
	return nil
}
