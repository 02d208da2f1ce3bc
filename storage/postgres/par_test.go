package postgres

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"golang.org/x/oauth2"
)

// TestMultiInstancePAR pushes an authorization request at one instance and
// uses its request_uri 50 times at once, split across two instances on one
// database: exactly one use gets a code (RFC 9126 §4); the others get
// invalid_request_uri, and the request is gone.
func TestMultiInstancePAR(t *testing.T) {
	db := newTestDB(t)
	withPAR := func(s *Store) func(*oauthkit.Config) {
		return func(cfg *oauthkit.Config) { cfg.PAR = &oauthkit.PARConfig{Store: s} }
	}
	sa, sb := db.store(t), db.store(t)
	a, b := newInstance(t, sa, withPAR(sa)), newInstance(t, sb, withPAR(sb))
	if err := a.store.CreateClient(t.Context(), testClient(t)); err != nil {
		t.Fatal(err)
	}
	verifier := oauth2.GenerateVerifier()
	push := url.Values{
		"client_id": {testClientID}, "response_type": {"code"}, "redirect_uri": {testRedirectURI},
		"scope": {"read"}, "state": {"st"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, a.url+"/par", strings.NewReader(push.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClientID, testSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pushed struct {
		RequestURI string `json:"request_uri"`
		ExpiresIn  int64  `json:"expires_in"`
	}
	err = json.NewDecoder(resp.Body).Decode(&pushed)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || err != nil || pushed.RequestURI == "" {
		t.Fatalf("push at A: %s, %+v, %v; want 201 with a request_uri", resp.Status, pushed, err)
	}

	const n = 50
	type result struct {
		status   int
		location string
		err      error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		inst := a
		if i%2 == 1 {
			inst = b
		}
		wg.Go(func() {
			<-start
			u := inst.url + "/authorize?" + url.Values{"client_id": {testClientID}, "request_uri": {pushed.RequestURI}}.Encode()
			resp, err := noRedirects.Get(u)
			if err != nil {
				results[i].err = err
				return
			}
			resp.Body.Close()
			results[i] = result{status: resp.StatusCode, location: resp.Header.Get("Location")}
		})
	}
	close(start)
	wg.Wait()
	var codes []string
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("use %d: %v", i, r.err)
		case r.status == http.StatusFound:
			loc, err := url.Parse(r.location)
			if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st" {
				t.Errorf("use %d: redirect to %q, want a code and state=st", i, r.location)
			}
			codes = append(codes, loc.Query().Get("code"))
		case r.status != http.StatusBadRequest:
			t.Errorf("use %d: status %d, want 302 once and 400 invalid_request_uri", i, r.status)
		}
	}
	if len(codes) != 1 {
		t.Fatalf("%d concurrent uses of one request_uri at A and B gave %d codes, want exactly 1", n, len(codes))
	}
	if rows := db.count(t, db.conn(t), "oauthkit_pushed_requests", "true"); rows != 0 {
		t.Errorf("%d pushed requests left after use, want 0", rows)
	}
	if _, err := oauth2Config(b, b).Exchange(t.Context(), codes[0], oauth2.VerifierOption(verifier)); err != nil {
		t.Errorf("exchange at B of the code of the pushed request: %v", err)
	}
}

// TestConsumePushedRequestAcrossStores races 50 ConsumePushedRequest calls
// of one request on two Stores with their own pools: exactly one wins.
func TestConsumePushedRequestAcrossStores(t *testing.T) {
	db := newTestDB(t)
	stores := []*Store{db.store(t), db.store(t)}
	now := time.Now()
	r := &oauthkit.PushedRequest{ID: oauthkit.HashToken("urn:x"), ClientID: "app", Form: url.Values{"scope": {"read"}}, ExpiresAt: now.Add(time.Minute)}
	if err := stores[0].CreatePushedRequest(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	const n = 50
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = stores[i%2].ConsumePushedRequest(t.Context(), r.ID, "app", now)
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, oauthkit.ErrNotFound):
			t.Errorf("consume %d: %v, want nil or ErrNotFound", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent consumes across two stores: %d succeeded, want exactly 1", n, won)
	}
}
