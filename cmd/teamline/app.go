package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamline/teamline/config"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/recording"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/store"
)

// app is what every command works with: the config, a logger, the
// migrated database and the directory service over it.
type app struct {
	cfg   config.Config
	log   *slog.Logger
	store *store.Store
	dir   *directory.Service
	// calls reads what every call needs from memory (serve only).
	calls *directory.ReadCache
	// closers run when the app closes (media engine); collectors are
	// registered on /metrics by serve.
	closers    []func() error
	collectors []prometheus.Collector
	recordings *recording.Service // set by serve
	// router decides who gets calls, texts and new leads (serve only):
	// one for the SIP side and the API, so both share its state.
	router *router.Router
}

// loadConfig reads the config file, or returns the embedded defaults, with
// the secrets in need read: a command reads only the secrets it uses, so a
// trunk password in a variable that is not set stops serve, not user list.
func loadConfig(path string, need config.Secrets) (config.Config, error) {
	if path == "" {
		return config.LoadDefaults()
	}
	return config.LoadFor(path, need)
}

// newLogger builds the process logger from the config.
func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cfg.Format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openApp loads the config with the secrets in need read (the database DSN
// is always among them), opens and migrates the database, and builds the
// directory service.
func openApp(ctx context.Context, cfgPath string, need config.Secrets, c *cli) (*app, error) {
	cfg, err := loadConfig(cfgPath, need|config.SecretDatabase)
	if err != nil {
		return nil, err
	}
	log := newLogger(cfg.Log, c.stderr)
	driver, dsn, err := cfg.Database.Driver(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if driver == "sqlite" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
	}
	st, err := store.Open(ctx, driver, dsn,
		store.WithMaxOpenConns(cfg.Database.MaxOpenConns),
		store.WithMaxIdleConns(cfg.Database.MaxIdleConns),
		store.WithConnMaxLifetime(time.Duration(cfg.Database.ConnMaxLifetime)),
		store.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", cfg.Database.Redacted(), err)
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("database %s: migrations: %w", cfg.Database.Redacted(), err)
	}
	for _, m := range applied {
		log.Info("migration applied", "migration", m)
	}
	phones, err := directory.NewPhones(cfg.Phone.DefaultRegion)
	if err != nil {
		st.Close()
		return nil, err
	}
	svc := directory.NewService(st, phones, directory.WithRealm(cfg.SIP.Realm), directory.WithLogger(log))
	return &app{cfg: cfg, log: log, store: st, dir: svc}, nil
}

func (a *app) Close() error {
	var errs []error
	for _, c := range a.closers {
		errs = append(errs, c())
	}
	return errors.Join(append(errs, a.store.Close())...)
}

// useApp opens the app with the secrets in need read, runs fn and closes the
// app.
func useApp(ctx context.Context, cfgPath string, need config.Secrets, c *cli, fn func(*app) error) error {
	a, err := openApp(ctx, cfgPath, need, c)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

func cmdMigrate(ctx context.Context, args []string, c *cli) error {
	fs := newFlags("migrate", c)
	cfgPath := configFlag(fs)
	return withApp(ctx, fs, cfgPath, args, c, func(a *app) error {
		fmt.Fprintf(c.stdout, "database %s is up to date\n", a.dbDescription())
		return nil
	})
}

// dbDescription says where the data lives, without secrets.
func (a *app) dbDescription() string {
	driver, dsn, err := a.cfg.Database.Driver(a.cfg.DataDir)
	if err == nil && driver == config.DriverSQLite {
		return "sqlite " + dsn
	}
	return driver + " " + a.cfg.Database.Redacted()
}
