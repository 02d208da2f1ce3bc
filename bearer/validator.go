package bearer

import (
	"context"
	"errors"
	"fmt"
)

// Validation errors. A Validator returns them, possibly wrapped, to say why
// a token was refused; the middleware maps them to responses.
var (
	// ErrInvalidToken means the token is malformed, unknown, expired,
	// revoked or otherwise unacceptable: the middleware answers 401
	// invalid_token (RFC 6750 §3.1).
	ErrInvalidToken = errors.New("bearer: invalid token")
	// ErrUnrecognizedToken means the token is not in a format the validator
	// handles, such as an opaque token given to a JWT validator. It wraps
	// ErrInvalidToken; [Fallback] tries the next validator on it.
	ErrUnrecognizedToken = fmt.Errorf("%w: unrecognized format", ErrInvalidToken)
	// ErrUnavailable means the validator cannot decide for now: the
	// authorization server's key set or introspection endpoint is out of
	// reach. The middleware answers 503 and logs the cause.
	ErrUnavailable = errors.New("bearer: token validation unavailable")
)

// Validator decides whether an access token is valid and what it grants.
//
// Implementations must be safe for concurrent use. Validate returns the
// token's claims, which then belong to the caller, or an error: one wrapping
// ErrInvalidToken for a token that must be refused (ErrUnrecognizedToken
// for one the validator does not understand), one wrapping ErrUnavailable
// when the answer cannot be had for now. Any other error is an internal
// fault; the middleware answers 500 and logs it. Errors must not contain the
// token.
type Validator interface {
	Validate(ctx context.Context, token string) (*Claims, error)
}

// ValidatorFunc adapts a function to a Validator.
type ValidatorFunc func(ctx context.Context, token string) (*Claims, error)

// Validate returns f(ctx, token).
func (f ValidatorFunc) Validate(ctx context.Context, token string) (*Claims, error) {
	return f(ctx, token)
}

// Fallback returns a Validator that asks each of validators in turn, moving
// to the next only when one returns an error wrapping ErrUnrecognizedToken.
// Fallback(jwks, introspection) validates JWTs locally and sends opaque
// tokens to the introspection endpoint. A JWT that fails validation is
// refused; it is not offered to the next validator.
func Fallback(validators ...Validator) Validator {
	vs := make([]Validator, 0, len(validators))
	for _, v := range validators {
		if v != nil {
			vs = append(vs, v)
		}
	}
	return fallback(vs)
}

type fallback []Validator

func (f fallback) Validate(ctx context.Context, token string) (*Claims, error) {
	err := ErrUnrecognizedToken
	for _, v := range f {
		var c *Claims
		c, err = v.Validate(ctx, token)
		if err == nil || !errors.Is(err, ErrUnrecognizedToken) {
			return c, err
		}
	}
	return nil, err
}

// invalid returns an error wrapping ErrInvalidToken that says why.
func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, reason) }

// unavailable returns an error wrapping ErrUnavailable and cause.
func unavailable(cause error) error { return fmt.Errorf("%w: %w", ErrUnavailable, cause) }
