package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/cmd/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/store"
)

// serve runs the gateway until ctx is cancelled (SIGINT or SIGTERM), then
// stops taking connections, lets in-flight requests finish within the
// shutdown timeout, waits for the dispatcher, and closes the store.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := &config{}
	if err := parseFlags("serve", args, getenv, stderr, cfg.serveFlags); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	var (
		m         *gateway.Metrics
		storeOpts store.Options
	)
	if cfg.Metrics {
		m = gateway.NewMetrics()
		storeOpts.Observer = m.StoreObserver()
	}
	logger, s, err := openForCommand(ctx, cfg, stdout, storeOpts)
	if err != nil {
		return err
	}
	defer closeStore(s, logger)
	if m != nil {
		m.WatchStore(s, s.Engine(), logger)
	}

	gw, err := gateway.New(cfg.Config, s, gateway.Options{Logger: logger, Metrics: m})
	if err != nil {
		return err
	}
	if m != nil && cfg.MetricsAddr != "" {
		stop, err := serveMetrics(cfg.MetricsAddr, m, logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	if cfg.Dispatch {
		// It stops with ctx, alongside the HTTP server; the store closes
		// after it (deferred earlier).
		wait, err := startDispatcher(ctx, &cfg.dispatchConfig, s, logger, cfg.ShutdownTimeout, m.DispatchObserver())
		if err != nil {
			return err
		}
		defer wait()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	return gw.Serve(ctx, ln)
}

func closeStore(s *store.Store, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		logger.Warn("close store", "err", err)
	}
}

// migrate creates the collections, indexes and seed data (and, on the
// embedded store, imports a FerretDB-era data directory), then exits.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := &config{}
	if err := parseFlags("migrate", args, getenv, stderr, func(fs *flag.FlagSet, env envBinder) { cfg.storeFlags(fs, env) }); err != nil {
		return err
	}
	logger, s, err := openForCommand(ctx, cfg, stderr, store.Options{})
	if err != nil {
		return err
	}
	defer closeStore(s, logger)
	fmt.Fprintf(stdout, "migrated database %q: collections %v\n", cfg.Database, store.Collections())
	return nil
}

// serveMetrics serves /metrics on a listener of its own; stop closes it.
func serveMetrics(addr string, m *gateway.Metrics, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("metrics listening", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}
