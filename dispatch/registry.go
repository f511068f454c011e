package dispatch

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// SenderConfig is what a sender is built from; each sender takes the
// fields it needs.
type SenderConfig struct {
	// Logger is where the log sender writes.
	Logger *slog.Logger
	// WebhookURL is the webhook's address; "{id}" in it becomes the
	// message's id.
	WebhookURL string
	// WebhookToken, if set, is sent as "Authorization: Bearer <token>".
	WebhookToken string
	// Timeout bounds one webhook call. Default 10s.
	Timeout time.Duration
	// HTTPClient replaces the webhook's client (tests).
	HTTPClient *http.Client
}

// Factory builds a sender.
type Factory func(SenderConfig) (Sender, error)

// Registry maps sender names to factories. It refuses a name twice, so a
// plugin cannot silently replace another.
type Registry struct {
	mu        sync.Mutex
	factories map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[string]Factory{}} }

// Builtin returns a new registry holding "log" and "webhook".
func Builtin() *Registry {
	r := NewRegistry()
	_ = r.Register("log", func(c SenderConfig) (Sender, error) { return NewLog(c.Logger), nil })
	_ = r.Register("webhook", func(c SenderConfig) (Sender, error) { return NewWebhook(c) })
	return r
}

// Register adds a factory under name. Errors: the name is empty or taken.
func (r *Registry) Register(name string, f Factory) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" || f == nil {
		return fmt.Errorf("register sender %q: a name and a factory are needed", name)
	}
	if _, taken := r.factories[name]; taken {
		return fmt.Errorf("register sender %q: the name is taken", name)
	}
	r.factories[name] = f
	return nil
}

// New builds the sender registered under name. Errors: an unknown name, or
// the factory's own (a bad configuration).
func (r *Registry) New(name string, c SenderConfig) (Sender, error) {
	r.mu.Lock()
	f, ok := r.factories[name]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("unknown sender %q (known: %v)", name, r.Names())
	}
	s, err := f(c)
	if err != nil {
		return nil, fmt.Errorf("sender %q: %w", name, err)
	}
	return s, nil
}

// Names lists the registered names, sorted.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.factories))
	for n := range r.factories {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
