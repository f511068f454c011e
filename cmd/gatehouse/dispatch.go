package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/cmd/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/dispatch"
	"github.com/gatehouse/gatehouse/store"
)

// dispatchConfig is what the mailing dispatcher is told; serve and
// dispatch take it.
type dispatchConfig struct {
	Dispatch        bool
	Sender          string
	WebhookURL      string
	WebhookToken    string
	SendConcurrency int
	SendRate        int
	SendTimeout     time.Duration
	Lease           time.Duration
}

// dispatchFlags are the sender's flags.
func (c *dispatchConfig) dispatchFlags(fs *flag.FlagSet, env envBinder) {
	env.string(fs, &c.Sender, "sender", "GATEHOUSE_SENDER", "log", "how messages are sent: log (a line per message) or webhook")
	env.string(fs, &c.WebhookURL, "webhook-url", "GATEHOUSE_WEBHOOK_URL", "", "the webhook sender's URL; {id} in it becomes the message id")
	env.string(fs, &c.WebhookToken, "webhook-token", "GATEHOUSE_WEBHOOK_TOKEN", "", "sent to the webhook as Authorization: Bearer <token>")
	env.int(fs, &c.SendConcurrency, "send-concurrency", "GATEHOUSE_SEND_CONCURRENCY", 8, "messages in flight at once, per dispatcher")
	env.int(fs, &c.SendRate, "send-rate", "GATEHOUSE_SEND_RATE", 0, "most messages sent in any second, per dispatcher (0: no limit)")
	env.duration(fs, &c.SendTimeout, "send-timeout", "GATEHOUSE_SEND_TIMEOUT", 10*time.Second, "longest wait for the sender (the webhook) to take one message")
	env.duration(fs, &c.Lease, "dispatch-lease", "GATEHOUSE_DISPATCH_LEASE", time.Minute, "how long a dispatcher's claim on work lasts unless renewed: the work of a dispatcher that dies is taken over this long (plus 2s) after")
}

// config is the dispatcher's configuration from the flags.
func (c *dispatchConfig) config() dispatch.Config {
	return dispatch.Config{Concurrency: c.SendConcurrency, Rate: c.SendRate, SendTimeout: c.SendTimeout, Lease: c.Lease}
}

// validate checks the sender's configuration without building it.
func (c *dispatchConfig) validate() error {
	if c.SendConcurrency < 1 {
		return errors.New("--send-concurrency must be at least 1")
	}
	if c.SendRate < 0 {
		return errors.New("--send-rate must not be negative")
	}
	if err := c.config().Validate(); err != nil {
		return fmt.Errorf("--send-timeout, --dispatch-lease: %w", err)
	}
	_, err := c.sender(slog.New(slog.DiscardHandler))
	return err
}

// senderConfig is what the sender is built from: --send-timeout bounds a
// webhook call too, beyond the webhook's own default.
func (c *dispatchConfig) senderConfig(logger *slog.Logger) dispatch.SenderConfig {
	return dispatch.SenderConfig{Logger: logger, WebhookURL: c.WebhookURL, WebhookToken: c.WebhookToken, Timeout: c.SendTimeout}
}

func (c *dispatchConfig) sender(logger *slog.Logger) (dispatch.Sender, error) {
	s, err := dispatch.Builtin().New(c.Sender, c.senderConfig(logger))
	if err != nil {
		return nil, fmt.Errorf("--sender: %w", err)
	}
	return s, nil
}

// startDispatcher runs a dispatcher until ctx is done; wait returns once it
// has stopped (its sends in flight finished within grace, or left leased).
func startDispatcher(ctx context.Context, c *dispatchConfig, s *store.Store, logger *slog.Logger, grace time.Duration, observer dispatch.Observer) (wait func(), err error) {
	sender, err := c.sender(logger)
	if err != nil {
		return nil, err
	}
	cfg := c.config()
	cfg.ShutdownGrace, cfg.Logger, cfg.Observer = grace, logger.With("component", "dispatch"), observer
	d, err := dispatch.New(s, sender, cfg)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil {
			logger.Error("dispatcher", "err", err)
		}
	}()
	return func() { <-done }, nil
}

// dispatchCommand runs a dispatcher alone, without the API, until ctx is
// cancelled (SIGINT or SIGTERM): sending scales apart from serving.
func dispatchCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := &config{}
	if err := parseFlags("dispatch", args, getenv, stderr, func(fs *flag.FlagSet, env envBinder) {
		cfg.storeFlags(fs, env)
		cfg.dispatchFlags(fs, env)
		env.duration(fs, &cfg.ShutdownTimeout, "shutdown-timeout", "GATEHOUSE_SHUTDOWN_TIMEOUT", gateway.Defaults().ShutdownTimeout, "grace period for sends in flight on SIGINT/SIGTERM")
		env.string(fs, &cfg.MetricsAddr, "metrics-addr", "GATEHOUSE_METRICS_ADDR", "", "serve Prometheus metrics at /metrics on this address (empty: no metrics)")
	}); err != nil {
		return err
	}
	if err := cfg.dispatchConfig.validate(); err != nil {
		return err
	}
	var (
		m         *gateway.Metrics
		storeOpts store.Options
	)
	if cfg.MetricsAddr != "" {
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
		stop, err := serveMetrics(cfg.MetricsAddr, m, logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	wait, err := startDispatcher(ctx, &cfg.dispatchConfig, s, logger, cfg.ShutdownTimeout, m.DispatchObserver())
	if err != nil {
		return err
	}
	wait()
	return nil
}
