package storetest

import (
	"context"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// CommandLog records the operations a store sends, for tests that check
// what reached the database: pass Observer in store.Options.
type CommandLog struct {
	mu       sync.Mutex
	commands []docdb.Op
}

// Observer is the store hook that fills the log.
func (l *CommandLog) Observer() *docdb.Observer {
	return &docdb.Observer{WithText: true, Started: func(_ context.Context, op docdb.Op) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.commands = append(l.commands, op)
	}}
}

// Reset forgets what was recorded.
func (l *CommandLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.commands = nil
}

// Holding returns the text of the recorded operations that contains s.
func (l *CommandLog) Holding(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range l.commands {
		if strings.Contains(c.Text, s) {
			out = append(out, c.Text)
		}
	}
	return out
}
