package oauthkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// exportedErrors are the exported protocol errors, by name.
func exportedErrors() map[string]*Error {
	return map[string]*Error{
		"ErrInvalidRequest":          ErrInvalidRequest,
		"ErrInvalidClient":           ErrInvalidClient,
		"ErrInvalidGrant":            ErrInvalidGrant,
		"ErrUnauthorizedClient":      ErrUnauthorizedClient,
		"ErrUnsupportedGrantType":    ErrUnsupportedGrantType,
		"ErrInvalidScope":            ErrInvalidScope,
		"ErrAccessDenied":            ErrAccessDenied,
		"ErrUnsupportedResponseType": ErrUnsupportedResponseType,
		"ErrServerError":             ErrServerError,
		"ErrTemporarilyUnavailable":  ErrTemporarilyUnavailable,
		"ErrUnsupportedTokenType":    ErrUnsupportedTokenType,
		"ErrInvalidToken":            ErrInvalidToken,
		"ErrInsufficientScope":       ErrInsufficientScope,
		"ErrLoginRequired":           ErrLoginRequired,
		"ErrConsentRequired":         ErrConsentRequired,
		"ErrInteractionRequired":     ErrInteractionRequired,
	}
}

func TestErrorIs(t *testing.T) {
	cause := errors.New("disk on fire")
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{name: "same value", err: ErrInvalidGrant, target: ErrInvalidGrant, want: true},
		{name: "with description", err: ErrInvalidGrant.WithDescription("expired"), target: ErrInvalidGrant, want: true},
		{name: "wrapped by fmt", err: fmt.Errorf("redeeming: %w", ErrInvalidGrant.WithDescription("x")), target: ErrInvalidGrant, want: true},
		{name: "other code", err: ErrInvalidGrant, target: ErrInvalidRequest},
		{name: "same code, other value", err: &Error{Code: "invalid_token"}, target: ErrInvalidToken, want: true},
		{name: "with cause, the code", err: ErrServerError.Wrap(cause), target: ErrServerError, want: true},
		{name: "with cause, the cause", err: ErrServerError.Wrap(cause), target: cause, want: true},
		{name: "with wrapped store sentinel", err: ErrServerError.Wrap(fmt.Errorf("db: %w", ErrUnavailable)), target: ErrUnavailable, want: true},
		{name: "store sentinel is no protocol error", err: ErrNotFound, target: ErrInvalidGrant},
		{name: "protocol error is no store sentinel", err: ErrInvalidGrant, target: ErrNotFound},
		{name: "descriptions are not compared", err: ErrInvalidGrant.WithDescription("a"), target: ErrInvalidGrant.WithDescription("b"), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %t, want %t", tt.err, tt.target, got, tt.want)
			}
		})
	}
}

func TestErrorAs(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		name     string
		err      error
		wantCode string
		wantDesc string
	}{
		{name: "direct", err: ErrInvalidScope.WithDescription("scope x"), wantCode: "invalid_scope", wantDesc: "scope x"},
		{name: "wrapped by fmt", err: fmt.Errorf("a: %w", fmt.Errorf("b: %w", ErrAccessDenied)), wantCode: "access_denied"},
		{name: "with a cause", err: ErrServerError.Wrap(cause), wantCode: "server_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *Error
			if !errors.As(tt.err, &e) {
				t.Fatalf("errors.As(%v) found no *Error", tt.err)
			}
			if e.Code != tt.wantCode || e.Description != tt.wantDesc {
				t.Errorf("got code %q description %q, want %q %q", e.Code, e.Description, tt.wantCode, tt.wantDesc)
			}
		})
	}
}

// TestErrorDerivationDoesNotMutate: WithDescription and Wrap return copies;
// the exported values are shared by every request and must never change.
func TestErrorDerivationDoesNotMutate(t *testing.T) {
	before := make(map[string]Error)
	for name, e := range exportedErrors() {
		before[name] = *e
	}
	for name, e := range exportedErrors() {
		d := e.WithDescription("described %d", 1)
		w := e.Wrap(errors.New("cause"))
		dw := e.WithDescription("both").Wrap(errors.New("cause"))
		if d == e || w == e || dw == e {
			t.Errorf("%s: a derived error is the exported value itself", name)
		}
		if d.Code != e.Code || w.Code != e.Code || d.Status != e.Status || w.Status != e.Status {
			t.Errorf("%s: derived errors changed code or status: %+v, %+v", name, d, w)
		}
		if d.Description != "described 1" || dw.Description != "both" || dw.Unwrap() == nil {
			t.Errorf("%s: derived errors lack their description or cause: %+v, %+v", name, d, dw)
		}
	}
	// The 401 of a failed client_secret_basic is set on a copy too, even
	// when a method returns an exported value itself.
	s := &Server{authMethods: []ClientAuthMethod{exportedErrorMethod{}}}
	r := httptest.NewRequest(http.MethodPost, "/token", nil)
	r.Header.Set("Authorization", "Basic x")
	if _, oerr := s.authenticateClient(t.Context(), r, nil, false); oerr == nil || oerr == ErrInvalidClient || oerr.Status != http.StatusUnauthorized {
		t.Errorf("authenticateClient = %v, want a 401 copy of ErrInvalidClient", oerr)
	}
	after := make(map[string]Error)
	for name, e := range exportedErrors() {
		after[name] = *e
	}
	if diff := cmp.Diff(before, after, cmp.AllowUnexported(Error{})); diff != "" {
		t.Errorf("exported errors changed (-before +after):\n%s", diff)
	}
}

// exportedErrorMethod is a client_secret_basic that refuses with the
// exported ErrInvalidClient itself.
type exportedErrorMethod struct{ secretBasic }

func (exportedErrorMethod) Authenticate(context.Context, *http.Request, url.Values, ClientStore) (*Client, error) {
	return nil, ErrInvalidClient
}

func TestErrorWithDescription(t *testing.T) {
	tests := []struct {
		name   string
		format string
		args   []any
		want   string
	}{
		{name: "plain", format: "missing code", want: "missing code"},
		{name: "formatted", format: "scope %s is not allowed", args: []any{"admin"}, want: "scope admin is not allowed"},
		{name: "percent without args is literal", format: "100% wrong", want: "100% wrong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrInvalidRequest.WithDescription(tt.format, tt.args...).Description; got != tt.want {
				t.Errorf("Description = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{name: "code only", err: ErrInvalidGrant, want: "invalid_grant"},
		{name: "with description", err: ErrInvalidGrant.WithDescription("expired"), want: "invalid_grant: expired"},
		{name: "the cause is not shown", err: ErrServerError.Wrap(errors.New("password=hunter2")), want: "server_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorHTTPStatus(t *testing.T) {
	tests := []struct {
		err  *Error
		want int
	}{
		{ErrInvalidRequest, http.StatusBadRequest},
		{ErrInvalidClient, http.StatusBadRequest},
		{ErrInvalidGrant, http.StatusBadRequest},
		{ErrUnauthorizedClient, http.StatusBadRequest},
		{ErrUnsupportedGrantType, http.StatusBadRequest},
		{ErrInvalidScope, http.StatusBadRequest},
		{ErrAccessDenied, http.StatusBadRequest},
		{ErrUnsupportedResponseType, http.StatusBadRequest},
		{ErrUnsupportedTokenType, http.StatusBadRequest},
		{ErrServerError, http.StatusInternalServerError},
		{ErrServerError.WithDescription("x").Wrap(errors.New("y")), http.StatusInternalServerError},
		{ErrTemporarilyUnavailable, http.StatusServiceUnavailable},
		{ErrInvalidToken, http.StatusUnauthorized},
		{ErrInsufficientScope, http.StatusForbidden},
		{&Error{Code: "invalid_client", Status: http.StatusUnauthorized}, http.StatusUnauthorized},
		{&Error{Code: "server_error", Status: http.StatusBadGateway}, http.StatusBadGateway},
		{&Error{Code: "urn:example:custom"}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.err.Code, tt.err.Status), func(t *testing.T) {
			if got := tt.err.HTTPStatus(); got != tt.want {
				t.Errorf("HTTPStatus() = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestSanitizeDescription: RFC 6749 §5.2 allows only %x20-21 / %x23-5B /
// %x5D-7E in error_description.
func TestSanitizeDescription(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "empty", in: "", want: ""},
		{name: "allowed", in: "scope admin is not allowed (see #3) [x] {y} ~!", want: "scope admin is not allowed (see #3) [x] {y} ~!"},
		{name: "double quote", in: `bad "scope"`, want: "bad scope"},
		{name: "backslash", in: `C:\path`, want: "C:path"},
		{name: "control characters", in: "line1\nline2\r\tend\x00", want: "line1line2end"},
		{name: "DEL", in: "a\x7fb", want: "ab"},
		{name: "non-ASCII", in: "café ☕ naïve", want: "caf  nave"},
		{name: "invalid UTF-8", in: "a\xffb", want: "ab"},
		{name: "only forbidden", in: "\"\\\n", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sanitizeDescription(tt.in); got != tt.want {
				t.Errorf("sanitizeDescription(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestErrorWireForms checks the error on the wire: the JSON body of the
// token endpoint and the parameters of an authorization error response.
func TestErrorWireForms(t *testing.T) {
	tests := []struct {
		name       string
		err        *Error
		wantStatus int
		wantJSON   map[string]string
		wantParams url.Values
	}{
		{
			name:       "code only",
			err:        ErrInvalidGrant,
			wantStatus: 400,
			wantJSON:   map[string]string{"error": "invalid_grant"},
			wantParams: url.Values{"error": {"invalid_grant"}},
		},
		{
			name:       "description and URI",
			err:        &Error{Code: "invalid_scope", Description: "scope x", URI: "https://docs.example.com/errors#scope"},
			wantStatus: 400,
			wantJSON:   map[string]string{"error": "invalid_scope", "error_description": "scope x", "error_uri": "https://docs.example.com/errors#scope"},
			wantParams: url.Values{"error": {"invalid_scope"}, "error_description": {"scope x"}, "error_uri": {"https://docs.example.com/errors#scope"}},
		},
		{
			name:       "description to sanitize",
			err:        ErrInvalidRequest.WithDescription("parameter %q repeated\n", "x\\y"),
			wantStatus: 400,
			wantJSON:   map[string]string{"error": "invalid_request", "error_description": "parameter xy repeated"},
			wantParams: url.Values{"error": {"invalid_request"}, "error_description": {"parameter xy repeated"}},
		},
		{
			name:       "description of forbidden characters only",
			err:        ErrInvalidRequest.WithDescription("\"\"\n"),
			wantStatus: 400,
			wantJSON:   map[string]string{"error": "invalid_request"},
			wantParams: url.Values{"error": {"invalid_request"}},
		},
		{
			name:       "cause is never sent",
			err:        ErrServerError.Wrap(errors.New("password=hunter2")),
			wantStatus: 500,
			wantJSON:   map[string]string{"error": "server_error"},
			wantParams: url.Values{"error": {"server_error"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			writeJSONError(w, tt.err)
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			var got map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if diff := cmp.Diff(tt.wantJSON, got); diff != "" {
				t.Errorf("JSON body (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantParams, errorParams(tt.err)); diff != "" {
				t.Errorf("redirect parameters (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAsError(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		name      string
		err       error
		authorize bool // authorizeError instead of asError
		wantCode  string
		wantCause error
	}{
		{name: "protocol error kept", err: ErrInvalidGrant, wantCode: "invalid_grant"},
		{name: "wrapped protocol error kept", err: fmt.Errorf("x: %w", ErrAccessDenied), wantCode: "access_denied"},
		{name: "other error is server_error", err: cause, wantCode: "server_error", wantCause: cause},
		{name: "unavailable store at the token endpoint", err: fmt.Errorf("db: %w", ErrUnavailable), wantCode: "server_error", wantCause: ErrUnavailable},
		{name: "unavailable store at the authorization endpoint", err: fmt.Errorf("db: %w", ErrUnavailable), authorize: true, wantCode: "temporarily_unavailable", wantCause: ErrUnavailable},
		{name: "wrapped unavailable at the authorization endpoint", err: ErrServerError.Wrap(fmt.Errorf("db: %w", ErrUnavailable)), authorize: true, wantCode: "temporarily_unavailable", wantCause: ErrUnavailable},
		{name: "other fault at the authorization endpoint", err: cause, authorize: true, wantCode: "server_error", wantCause: cause},
		{name: "protocol error at the authorization endpoint", err: ErrLoginRequired, authorize: true, wantCode: "login_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conv := asError
			if tt.authorize {
				conv = authorizeError
			}
			got := conv(tt.err)
			if got.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", got.Code, tt.wantCode)
			}
			if tt.wantCause != nil && !errors.Is(got, tt.wantCause) {
				t.Errorf("%v does not wrap %v", got, tt.wantCause)
			}
			if got.Description != "" && tt.wantCause != nil {
				t.Errorf("internal fault got a description %q", got.Description)
			}
		})
	}
}
