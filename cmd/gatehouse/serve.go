package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// serve runs the gateway until ctx is cancelled (SIGINT or SIGTERM), then
// stops taking connections, lets in-flight requests finish within the
// shutdown timeout, and closes the store.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := &config{}
	if err := parseFlags("serve", args, getenv, stderr, cfg.serveFlags); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	var (
		m         *metrics
		storeOpts store.Options
		gwOpts    []gatewayOption
	)
	if cfg.Metrics {
		m = newMetrics()
		storeOpts.Observer = m.storeObserver()
		gwOpts = append(gwOpts, withMetrics(m))
	}
	logger, s, err := openForCommand(ctx, cfg, stdout, storeOpts)
	if err != nil {
		return err
	}
	defer closeStore(s, logger)
	if m != nil {
		m.watchStore(s, s.Engine(), logger)
	}

	gw, err := newGateway(cfg, s, logger, gwOpts...)
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
		wait, err := startDispatcher(ctx, &cfg.dispatchConfig, s, logger, cfg.ShutdownTimeout, m.dispatchObserver())
		if err != nil {
			return err
		}
		defer wait()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := httpServer(cfg, gw.handler(cfg), logger)
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	logger.Info("listening", "addr", ln.Addr().String(), "graphql", "/graphql", "playground", "/playground")

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	logger.Info("shutting down", "grace", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// httpServer is the gateway's HTTP server, with every timeout set: Go's
// defaults are none.
func httpServer(cfg *config, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
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
func serveMetrics(addr string, m *metrics, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("metrics listening", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}
