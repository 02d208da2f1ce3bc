package postgres

import (
	"errors"
	"net"
	"net/url"
	"testing"

	"github.com/oauthkit/oauthkit"
)

// withParams returns the connection string raw with query parameters set.
func withParams(t *testing.T, raw string, params map[string]string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", envURL, err)
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func TestOpen(t *testing.T) {
	db := newTestDB(t)

	t.Run("Works", func(t *testing.T) {
		s, err := Open(t.Context(), withParams(t, db.url, map[string]string{"search_path": db.schema}))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if _, err := s.Client(t.Context(), "nobody"); !errors.Is(err, oauthkit.ErrNotFound) {
			t.Errorf("Client: error = %v, want ErrNotFound", err)
		}
		var interval string
		if err := s.pool.QueryRow(t.Context(), "SHOW client_connection_check_interval").Scan(&interval); err != nil || interval != "1s" {
			t.Errorf("client_connection_check_interval = %q (error %v), want 1s", interval, err)
		}
		s.Close()
		if err := s.pool.Ping(t.Context()); err == nil {
			t.Error("the pool of an Open store still works after Close")
		}
		if _, err := s.Client(t.Context(), "nobody"); err == nil || errors.Is(err, oauthkit.ErrNotFound) {
			t.Errorf("Client after Close: error = %v, want a failure", err)
		}
	})

	t.Run("URLSetsCheckInterval", func(t *testing.T) {
		s, err := Open(t.Context(), withParams(t, db.url, map[string]string{"search_path": db.schema, "client_connection_check_interval": "5000"}))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		var interval string
		if err := s.pool.QueryRow(t.Context(), "SHOW client_connection_check_interval").Scan(&interval); err != nil || interval != "5s" {
			t.Errorf("client_connection_check_interval = %q (error %v), want the URL's 5s", interval, err)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there now
		_, err = Open(t.Context(), "postgres://postgres@"+addr+"/test?sslmode=disable&connect_timeout=5")
		if !errors.Is(err, oauthkit.ErrUnavailable) {
			t.Errorf("Open of a closed port: error = %v, want one wrapping ErrUnavailable", err)
		}
	})

	t.Run("BadURL", func(t *testing.T) {
		for _, raw := range []string{"postgres://%zz", "postgres://h:notaport/db", "postgres://h/db?sslmode=sometimes"} {
			_, err := Open(t.Context(), raw)
			if err == nil || errors.Is(err, oauthkit.ErrUnavailable) {
				t.Errorf("Open(%q): error = %v, want a configuration error", raw, err)
			}
		}
	})

	t.Run("NewLeavesPoolOpen", func(t *testing.T) {
		pool := db.pool(t, db.poolConfig(t))
		New(pool).Close()
		if err := pool.Ping(t.Context()); err != nil {
			t.Errorf("pool passed to New after Store.Close: %v, want it open", err)
		}
	})
}
