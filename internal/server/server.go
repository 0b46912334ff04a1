// Package server wires Rollcall together: it opens the store named by the
// configuration, builds the domain services and the HTTP doors (SCIM, SAML,
// the REST API, health and metrics), and runs background upkeep. The CLI
// (cmd/rollcall) and end-to-end tests both start servers through it.
package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"rollcall/internal/api"
	"rollcall/internal/credential"
	"rollcall/internal/directory"
	"rollcall/internal/httpx"
	"rollcall/internal/saml"
	"rollcall/internal/scim"
	"rollcall/internal/session"
	"rollcall/internal/store"
	"rollcall/internal/store/postgres"
	"rollcall/internal/store/sqlite"
	"rollcall/internal/web"
)

// Config is everything a server needs, parsed and checked by the caller.
type Config struct {
	// Database is an SQLite file path or a postgres:// URL.
	Database string
	// BaseURL is the externally visible URL every printed or published URL
	// derives from (no trailing slash).
	BaseURL string
	// AllowPrivateAddresses lets outbound fetches (IdP metadata) reach
	// loopback, link-local and private networks, over http too.
	AllowPrivateAddresses bool
	// Sealer, when set, encrypts SP private keys at rest (--secret-key).
	Sealer *credential.Sealer
	// SCIM tunes the SCIM door (rate limits, body cap, filter bounds).
	SCIM scim.Config
	// SessionIdle and SessionMax bound browser sessions (defaults 12 h, 7 d).
	SessionIdle, SessionMax time.Duration
	// SMTP sends password reset links; nil when no SMTP server is configured.
	SMTP *web.SMTP
	// ProvisioningLogDays and ProvisioningLogRows bound the provisioning log
	// (defaults 30 days and 100,000 entries per workspace).
	ProvisioningLogDays, ProvisioningLogRows int
	Log                                      *slog.Logger
}

// OpenStore opens the database named by a --database value: a postgres://
// or postgresql:// URL selects PostgreSQL, anything else is an SQLite path.
func OpenStore(ctx context.Context, database string) (*store.DB, error) {
	if IsPostgres(database) {
		return postgres.Open(ctx, database)
	}
	return sqlite.Open(ctx, strings.TrimPrefix(database, "sqlite:"))
}

// IsPostgres reports whether a --database value names PostgreSQL.
func IsPostgres(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// Redact returns a database value safe to print: a URL loses its password.
func Redact(database string) string {
	u, err := url.Parse(database)
	if err != nil || u.User == nil {
		return database
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Server is a running Rollcall: its store, services and HTTP handler.
type Server struct {
	cfg      Config
	DB       *store.DB
	Dir      *directory.Service
	Creds    *credential.Service
	SCIM     *scim.Server
	SAML     *saml.Server
	Web      *web.Server
	Sessions *session.Manager
	handler  http.Handler
	reg      *prometheus.Registry

	stop          chan struct{}
	wg            sync.WaitGroup
	lastCertCheck time.Time // touched only by the upkeep goroutine
}

// New opens the store and builds a server. Close releases it.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	db, err := OpenStore(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	for _, n := range db.Notices() {
		cfg.Log.Warn(n)
	}
	s := &Server{cfg: cfg, DB: db, stop: make(chan struct{})}
	s.Dir = directory.NewService(db)
	s.Creds = credential.NewService(db, nil)
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.reg.MustRegister(&dbCollector{db: db})
	metrics := httpx.NewMetrics(s.reg)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n")) // nothing to do if the client left
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := db.Ping(ctx); err != nil {
			cfg.Log.Warn("readiness check failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("database unreachable\n")) // nothing to do if the client left
			return
		}
		_, _ = w.Write([]byte("ok\n")) // nothing to do if the client left
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	apiSrv := &api.Server{Dir: s.Dir, Creds: s.Creds, Prov: db, BaseURL: cfg.BaseURL, Log: cfg.Log}
	apiSrv.Register(mux)

	scimCfg := cfg.SCIM
	scimCfg.BaseURL, scimCfg.Log = cfg.BaseURL, cfg.Log
	s.SCIM = scim.New(scimCfg, s.Dir, s.Creds, db)
	s.SCIM.Register(mux)

	s.Sessions = &session.Manager{Store: db, Idle: cfg.SessionIdle, Absolute: cfg.SessionMax, Secure: strings.HasPrefix(cfg.BaseURL, "https://")}
	ws := &web.Server{BaseURL: cfg.BaseURL, Dir: s.Dir, Store: db, Sessions: s.Sessions, Log: cfg.Log}
	if cfg.SMTP != nil {
		ws.Mail = cfg.SMTP
	}
	if s.Web, err = web.New(ws); err != nil {
		db.Close()
		return nil, err
	}
	s.SAML = saml.New(saml.Config{BaseURL: cfg.BaseURL, Sealer: cfg.Sealer, Log: cfg.Log}, s.Dir, db, s.Sessions, s.Web, &saml.Fetcher{AllowPrivate: cfg.AllowPrivateAddresses})
	s.Web.SSO = func(ctx context.Context, ws string) bool {
		ok, err := db.HasConnection(ctx, ws)
		if err != nil {
			cfg.Log.Warn("sign-in page: is SSO configured?", "workspace", ws, "err", err)
		}
		return ok
	}
	s.SAML.Register(mux)
	s.Web.Register(mux)
	apiSrv.SSO = s.SAML
	s.handler = httpx.Handler(mux, cfg.Log, metrics)
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// BaseURL returns the externally visible base URL.
func (s *Server) BaseURL() string { return s.cfg.BaseURL }

// Start begins background upkeep (expired sessions and tokens).
func (s *Server) Start() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			s.upkeep()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// upkeep runs every minute on every replica. Each task is safe to run
// concurrently with the same task elsewhere: deletions of expired rows are
// idempotent, metadata refreshes are claimed row by row, and certificate
// warnings are given by whichever replica first changes their record.
func (s *Server) upkeep() {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	now := time.Now()
	idle := s.cfg.SessionIdle
	if idle <= 0 {
		idle = 12 * time.Hour
	}
	if _, err := s.DB.DeleteExpiredSessions(ctx, now, now.Add(-idle)); err != nil {
		s.cfg.Log.Warn("upkeep: sessions", "err", err)
	}
	if _, err := s.DB.DeleteExpiredCredentials(ctx, now); err != nil {
		s.cfg.Log.Warn("upkeep: access tokens", "err", err)
	}
	if err := s.DB.DeleteExpiredSAML(ctx, now); err != nil {
		s.cfg.Log.Warn("upkeep: saml", "err", err)
	}
	days, rows := s.cfg.ProvisioningLogDays, s.cfg.ProvisioningLogRows
	if days <= 0 {
		days = 30
	}
	if rows <= 0 {
		rows = 100_000
	}
	if _, err := s.DB.TrimProvisioningLog(ctx, now.AddDate(0, 0, -days), rows); err != nil {
		s.cfg.Log.Warn("upkeep: provisioning log", "err", err)
	}
	if err := s.SAML.RefreshDue(ctx); err != nil {
		s.cfg.Log.Warn("upkeep: metadata refresh", "err", err)
	}
	if now.Sub(s.lastCertCheck) > time.Hour { // at start, then hourly
		s.lastCertCheck = now
		if err := s.SAML.CheckCertificates(ctx); err != nil {
			s.cfg.Log.Warn("upkeep: certificate check", "err", err)
		}
		// Reads every SP key's stored form: hourly, not every minute.
		n, err := s.SAML.SealKeys(ctx)
		if n > 0 {
			s.cfg.Log.Info("sealed SP private keys with the current secret key", "keys", n)
		}
		if err != nil {
			s.cfg.Log.Warn("upkeep: seal SP keys", "err", err)
		}
	}
}

// Close stops background work and closes the store.
func (s *Server) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.wg.Wait()
	s.SCIM.Close()
	return s.DB.Close()
}

// Serve serves HTTP on ln until ctx is cancelled, then shuts down
// gracefully, letting in-flight requests finish (up to 30 s).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // Okta may push a 100,000-member group in one body
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// dbCollector exports database pool statistics.
type dbCollector struct{ db *store.DB }

var (
	poolOpen  = prometheus.NewDesc("rollcall_db_connections_open", "Open database connections.", []string{"pool"}, nil)
	poolInUse = prometheus.NewDesc("rollcall_db_connections_in_use", "Database connections in use.", []string{"pool"}, nil)
	poolWait  = prometheus.NewDesc("rollcall_db_wait_seconds_total", "Time spent waiting for a database connection.", []string{"pool"}, nil)
	poolWaits = prometheus.NewDesc("rollcall_db_waits_total", "Times a request waited for a database connection.", []string{"pool"}, nil)
)

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolOpen
	ch <- poolInUse
	ch <- poolWait
	ch <- poolWaits
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	for name, st := range c.db.Stats() {
		collect(ch, name, st)
	}
}

func collect(ch chan<- prometheus.Metric, pool string, st sql.DBStats) {
	ch <- prometheus.MustNewConstMetric(poolOpen, prometheus.GaugeValue, float64(st.OpenConnections), pool)
	ch <- prometheus.MustNewConstMetric(poolInUse, prometheus.GaugeValue, float64(st.InUse), pool)
	ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, st.WaitDuration.Seconds(), pool)
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(st.WaitCount), pool)
}
