package memory_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// An authorization code is single-use: the second redemption gets the code
// back with ErrReused, so that the caller can revoke what the first one
// issued.
func ExampleCodes() {
	ctx := context.Background()
	now := time.Now()
	codes := memory.NewCodes()

	id := oauthkit.HashToken("the code sent to the client")
	err := codes.CreateCode(ctx, &oauthkit.AuthorizationCode{
		ID:        id,
		GrantID:   "grant-1",
		ClientID:  "web",
		Subject:   "alice",
		ExpiresAt: now.Add(time.Minute),
	})
	if err != nil {
		log.Fatal(err)
	}

	code, err := codes.ConsumeCode(ctx, id, "web", now)
	fmt.Println(code.Subject, err)
	code, err = codes.ConsumeCode(ctx, id, "web", now.Add(time.Second))
	fmt.Println(code.GrantID, errors.Is(err, oauthkit.ErrReused))
	_, err = codes.ConsumeCode(ctx, id, "web", now.Add(time.Minute))
	fmt.Println(errors.Is(err, oauthkit.ErrNotFound))
	// Output:
	// alice <nil>
	// grant-1 true
	// true
}

// Refresh token rotation with reuse detection (RFC 9700 §4.14.2): a rotated
// refresh token presented again revokes its whole grant.
func ExampleTokens_RotateRefreshToken() {
	ctx := context.Background()
	now := time.Now()
	tokens := memory.NewTokens()
	token := func(id string, kind oauthkit.TokenKind, parent string) *oauthkit.Token {
		return &oauthkit.Token{
			ID: id, Kind: kind, GrantID: "grant-1", ParentID: parent,
			ClientID: "web", Subject: "alice",
			IssuedAt: now, ExpiresAt: now.Add(time.Hour),
		}
	}
	if err := tokens.CreateTokens(ctx, token("a1", oauthkit.AccessToken, ""), token("r1", oauthkit.RefreshToken, "")); err != nil {
		log.Fatal(err)
	}

	// The client exchanges r1 for a2 and r2.
	err := tokens.RotateRefreshToken(ctx, "r1", now, 0, token("a2", oauthkit.AccessToken, "r1"), token("r2", oauthkit.RefreshToken, "r1"))
	fmt.Println("rotate r1:", err)

	// Someone presents r1 again: the client or a thief, no telling which.
	err = tokens.RotateRefreshToken(ctx, "r1", now, 0, token("a3", oauthkit.AccessToken, "r1"), token("r3", oauthkit.RefreshToken, "r1"))
	fmt.Println("reuse r1:", errors.Is(err, oauthkit.ErrReused))

	for _, id := range []string{"a1", "a2", "r2", "r3"} {
		_, err := tokens.Token(ctx, id, now)
		fmt.Println(id, "valid:", err == nil)
	}
	// Output:
	// rotate r1: <nil>
	// reuse r1: true
	// a1 valid: false
	// a2 valid: false
	// r2 valid: false
	// r3 valid: false
}

// A device authorization (RFC 8628) is decided once at the verification
// page, and its tokens are issued once: the first poll after the approval
// sees it approved, the later ones redeemed.
func ExampleDevices() {
	ctx := context.Background()
	now := time.Now()
	devices := memory.NewDevices()

	err := devices.CreateDeviceAuthorization(ctx, &oauthkit.DeviceAuthorization{
		ID:         oauthkit.HashToken("the device code"),
		UserCodeID: oauthkit.HashToken("WDJBMJHT"),
		ClientID:   "tv",
		Scope:      []string{"openid"},
		ExpiresAt:  now.Add(10 * time.Minute),
		Interval:   5 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	poll := func(at time.Time) {
		a, err := devices.PollDeviceAuthorization(ctx, oauthkit.HashToken("the device code"), "tv", at)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(a.Status, a.Interval)
	}
	poll(now)
	poll(now.Add(time.Second)) // too soon: the interval grows

	err = devices.DecideDeviceAuthorization(ctx, oauthkit.HashToken("WDJBMJHT"), now, &oauthkit.DeviceAuthorization{Subject: "alice"})
	fmt.Println(err)
	poll(now.Add(15 * time.Second))
	poll(now.Add(30 * time.Second))
	// Output:
	// pending 5s
	// pending 5s
	// <nil>
	// approved 10s
	// redeemed 10s
}
