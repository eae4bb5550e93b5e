package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/teamline/teamline/api"
	"github.com/teamline/teamline/config"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/sip"
)

// adminTokenFile is where the first start leaves the admin's API token.
const adminTokenFile = "admin-token"

// httpShutdownTimeout bounds how long in-flight API requests may finish.
const httpShutdownTimeout = 10 * time.Second

func cmdServe(ctx context.Context, args []string, c *cli) error {
	fs := newFlags("serve", c)
	cfgPath := configFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	// The gateway uses every secret: all are read, and any that cannot be
	// stops the start with the others' problems, before anything listens.
	return useApp(ctx, *cfgPath, config.AllSecrets, c, func(a *app) error { return a.serve(ctx) })
}

// serve runs the gateway until ctx ends or a server fails.
func (a *app) serve(ctx context.Context) error {
	v, rev := buildVersion()
	a.log.Info("teamline starting", "version", v, "commit", rev, "data_dir", absPath(a.cfg.DataDir), "database", a.dbDescription())

	if err := a.bootstrap(ctx); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(a.store.DB(), a.store.Driver()),
		buildInfo(v, rev),
	)

	// The call path reads settings and numbers through one cache: the SIP
	// backend, the router and the recording policy.
	a.calls = directory.NewReadCache(a.dir, directoryCacheTTL)
	a.router = router.New(a.calls, a.store, router.WithLogger(a.log))
	if err := a.newRecordings(reg); err != nil {
		return err
	}
	sipSrv, err := a.newSIPServer()
	if err != nil {
		return err
	}
	reg.MustRegister(sipSrv.Collectors()...)
	reg.MustRegister(a.collectors...)

	apiOpts := []api.Option{
		api.WithLogger(a.log),
		api.WithMaxBodyBytes(a.cfg.HTTP.MaxBodyBytes),
		api.WithGatherer(reg),
		api.WithRegisterer(reg),
		api.WithVersion(v),
		api.WithCallRecords(a.store), api.WithContacts(a.store),
		api.WithRecordings(a.recordings, a.store),
		api.WithRequestTimeout(time.Duration(a.cfg.HTTP.WriteTimeout)),
		api.WithRouter(a.router, a.store),
		api.WithCellVerification(a.store, a.codeSender()),
		api.WithDialer(sipSrv),
	}
	handler := api.New(a.dir, apiOpts...).Handler()
	if a.cfg.HTTP.Pprof {
		handler = withPprof(handler)
		a.log.Warn("profiler enabled on the HTTP listener: /debug/pprof/ (unauthenticated)")
	}
	ln, err := net.Listen("tcp", a.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	httpSrv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       time.Duration(a.cfg.HTTP.ReadTimeout),
		WriteTimeout:      time.Duration(a.cfg.HTTP.WriteTimeout),
		IdleTimeout:       2 * time.Minute,
	}
	a.log.Info("http listening", "addr", ln.Addr().String(), "api", "http://"+ln.Addr().String()+"/api/v1", "health", "http://"+ln.Addr().String()+"/healthz")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() {
		if err := httpSrv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
			return
		}
		errc <- nil
	}()
	go func() {
		errc <- sipSrv.Run(ctx)
	}()
	go func() {
		select {
		case <-sipSrv.Ready():
			if ok, why := a.dir.TelephonyEnabled(ctx); !ok {
				a.log.Warn("calls are refused until the directory is ready", "reason", why,
					"fix", "add a buyer role number: teamline number add --kind role --role buyer --number NUMBER")
			}
		case <-ctx.Done():
		}
	}()

	// Run until a signal or a server fails; then stop both.
	var first error
	received := 0
	select {
	case <-ctx.Done():
	case first = <-errc:
		received++
	}
	a.log.Info("teamline stopping")
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	defer scancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		a.log.Warn("http shutdown", "err", err)
	}
	for ; received < cap(errc); received++ {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		a.log.Info("teamline stopped")
	}
	return first
}

// newSIPServer builds the SIP server from the config.
func (a *app) newSIPServer() (*sip.Server, error) {
	cfg := a.cfg
	var ls []sip.Listener
	lim := cfg.SIP.Limits
	opts := []sip.Option{sip.WithUserAgent(cfg.SIP.UserAgent), sip.WithRealm(cfg.SIP.Realm), sip.WithLimits(sip.Limits{
		MaxMessage: lim.MaxMessageBytes, MaxHeaders: lim.MaxHeaders, MaxHeaderBytes: lim.MaxHeaderBytes,
		MaxBody: lim.MaxBodyBytes, MaxURI: lim.MaxURIBytes,
	})}
	if adv := a.sipAdvertise(); adv != "" {
		opts = append(opts, sip.WithAdvertise(adv))
	}
	for _, l := range cfg.SIP.Listen {
		ls = append(ls, sip.Listener{Transport: l.Transport, Address: l.Address})
		if l.Transport == "tls" {
			opts = append(opts, sip.WithTLS(l.TLSCert, l.TLSKey))
		}
	}
	backend, err := a.sipBackend()
	if err != nil {
		return nil, err
	}
	opts = append(opts, sip.WithBackend(backend))
	return sip.NewServer(a.log, ls, sip.TelephonyFunc(a.calls.TelephonyEnabled), opts...)
}

// codeSender is how cell phone verification codes are sent
// (verification.sender): posted to a webhook, or only logged.
func (a *app) codeSender() directory.CodeSender {
	v := a.cfg.Verification
	if v.Sender == config.VerificationSenderWebhook {
		return directory.NewWebhookCodeSender(v.WebhookURL, v.WebhookToken.Value())
	}
	if v.LogCodes {
		a.log.Warn("cell phone verification codes are written to this log (verification.log_codes): for a lab only")
	} else {
		// Each code "sent" warns on its own.
		a.log.Info("cell phone verification codes are not sent anywhere; set verification.sender to webhook",
			"sender", v.Sender)
	}
	return directory.LogCodeSender{Log: a.log, LogCodes: v.LogCodes}
}

// bootstrap makes the first start usable: when no primary manager exists it
// creates "admin" and writes an API token for it to a file only the owner
// can read. The token never goes to the log.
func (a *app) bootstrap(ctx context.Context) error {
	secret, created, err := a.dir.Bootstrap(ctx)
	if errors.Is(err, directory.ErrConflict) {
		// The gateway still runs; the operator has to name a primary manager.
		a.log.Warn("no one can manage this account yet", "reason", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	path := filepath.Join(a.cfg.DataDir, adminTokenFile)
	if !created {
		if _, err := os.Stat(path); err == nil {
			a.log.Info("an admin API token from the first start is waiting; read it and delete the file", "file", absPath(path))
		}
		a.log.Info("to get an API token", "run", "teamline token create --user USERNAME --name NAME")
		return nil
	}
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("first start: writing the admin token: %w", err)
	}
	a.log.Info("first start: created the primary manager \"admin\" and an API token for it",
		"token_file", absPath(path),
		"use", "curl -H \"Authorization: Bearer $(cat "+path+")\" http://"+a.cfg.HTTP.Listen+"/api/v1/users/me")
	return nil
}

// buildInfo is the teamline_build_info gauge: 1, labelled with the build.
func buildInfo(version, commit string) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "teamline_build_info",
		Help:        "Build of the running gateway; always 1.",
		ConstLabels: prometheus.Labels{"version": version, "commit": commit, "goversion": runtime.Version()},
	})
	g.Set(1)
	return g
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// withPprof adds Go's profiler under /debug/pprof/ in front of h.
func withPprof(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", h)
	return mux
}
