package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
)

// Server is an HTTP server for the gateway with every timeout of the
// configuration set: Go's defaults are none.
func (g *Gateway) Server() *http.Server {
	return &http.Server{
		Handler:           g,
		ReadHeaderTimeout: g.cfg.ReadHeaderTimeout,
		ReadTimeout:       g.cfg.ReadTimeout,
		WriteTimeout:      g.cfg.WriteTimeout,
		IdleTimeout:       g.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(g.logger.Handler(), slog.LevelWarn),
	}
}

// Serve answers on ln until ctx is done, then stops taking connections and
// lets requests in flight finish within the shutdown timeout. Requests see
// ctx's values but not its end, so that they finish rather than fail. It
// returns nil after a clean stop.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	srv := g.Server()
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	attrs := []any{"addr", ln.Addr().String(), "graphql", "/graphql"}
	if g.cfg.Explorer {
		attrs = append(attrs, "explorer", ExplorerPath)
	}
	g.logger.Info("listening", attrs...)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	g.logger.Info("shutting down", "grace", g.cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), g.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	g.logger.Info("stopped")
	return nil
}
