package oauthkit_test

import (
	"bytes"
	"sync"
)

// syncLog is a slog destination safe for concurrent use, so that a test can
// read what a server logged while its handlers run.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
