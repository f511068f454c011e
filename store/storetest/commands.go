package storetest

import (
	"context"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/event"
)

// CommandLog records the commands a store sends, for tests that check what
// reached the database: pass Monitor in store.Options.
type CommandLog struct {
	mu       sync.Mutex
	commands []Command
}

// Command is one command as the driver sent it.
type Command struct {
	Name string // find, insert, update, …
	Text string // the whole command as extended JSON
}

// Monitor is the driver hook that fills the log.
func (l *CommandLog) Monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.commands = append(l.commands, Command{Name: e.CommandName, Text: e.Command.String()})
	}}
}

// Reset forgets what was recorded.
func (l *CommandLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.commands = nil
}

// Named returns the recorded commands of one name.
func (l *CommandLog) Named(name string) []Command {
	return l.where(func(c Command) bool { return c.Name == name })
}

// Holding returns the recorded commands whose text contains s.
func (l *CommandLog) Holding(s string) []string {
	var out []string
	for _, c := range l.where(func(c Command) bool { return strings.Contains(c.Text, s) }) {
		out = append(out, c.Text)
	}
	return out
}

func (l *CommandLog) where(keep func(Command) bool) []Command {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Command
	for _, c := range l.commands {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}
