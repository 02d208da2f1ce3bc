package oauthkit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// minGeneratedSecretLen is the shortest secret HashSecret accepts: 32
// characters of base64url carry 192 bits, beyond any offline guessing.
const minGeneratedSecretLen = 32

// Argon2id parameters for HashLowEntropySecret: OWASP's recommended
// minimum (19 MiB, two passes, one lane), which keeps a verification near
// 30 ms without letting a burst of requests claim gigabytes.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
	// argonMaxMemory bounds the memory a stored hash may ask for.
	argonMaxMemory = 256 * 1024 // KiB
)

// Slow verifications (Argon2id, bcrypt) are bounded twice: anyone who knows
// the ID of a client with a low-entropy secret can make the server run one,
// and each holds a CPU and its memory until done.
//
//   - slowSlots: at most GOMAXPROCS run at once;
//   - slowWaiters: at most this many more wait for a slot. Beyond it a
//     verification fails at once with ErrUnavailable (503 and Retry-After
//     at the token endpoint, temporarily_unavailable at the authorization
//     endpoint), so that a burst costs its senders, not the callers behind
//     them, and a queue never grows without bound.
//
// A waiter whose context ends (its client hung up) leaves the queue without
// hashing.
var (
	slowSlots   = make(chan struct{}, runtime.GOMAXPROCS(0))
	slowWaiters = make(chan struct{}, maxSlowWaiters)
)

// maxSlowWaiters bounds the verifications waiting for a slot: at about 30 ms
// each and two CPUs, a full queue drains in half a second.
const maxSlowWaiters = 32

// errVerifierBusy is the error of a slow verification refused because too
// many are waiting.
var errVerifierBusy = fmt.Errorf("oauthkit: too many secret verifications waiting: %w", ErrUnavailable)

// slowVerify runs verify, a slow hash comparison, in one of slowSlots.
func slowVerify(ctx context.Context, verify func() bool) (bool, error) {
	select {
	case slowSlots <- struct{}{}: // a free slot: no queue
	default:
		select {
		case slowWaiters <- struct{}{}:
		default:
			return false, errVerifierBusy
		}
		select {
		case slowSlots <- struct{}{}:
			<-slowWaiters
		case <-ctx.Done():
			<-slowWaiters
			return false, ctx.Err()
		}
	}
	defer func() { <-slowSlots }()
	if err := ctx.Err(); err != nil { // ended while a slot was being granted
		return false, err
	}
	return verify(), nil
}

// ErrWeakSecret is returned by HashSecret for a secret too short to be a
// generated one.
var ErrWeakSecret = errors.New("oauthkit: secret too short for HashSecret; use HashLowEntropySecret")

// GenerateSecret returns a new random client secret (256 bits, base64url) and
// its hash for Client.SecretHash. rand nil means crypto/rand.
func GenerateSecret(rand io.Reader) (secret, hash string, err error) {
	secret, err = randomToken(rand)
	if err != nil {
		return "", "", err
	}
	hash, err = HashSecret(secret)
	return secret, hash, err
}

// HashSecret hashes a generated, high-entropy client secret with SHA-256, so
// that verifying it costs well under a microsecond. A secret with that much
// entropy cannot be guessed offline from its hash, so no slow hash is needed.
// Secrets shorter than 32 characters are refused with ErrWeakSecret: hash
// human-chosen secrets with HashLowEntropySecret.
func HashSecret(secret string) (string, error) {
	if len(secret) < minGeneratedSecretLen {
		return "", ErrWeakSecret
	}
	sum := sha256.Sum256([]byte(secret))
	return "$sha256$" + base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// HashLowEntropySecret hashes a human-chosen or imported secret with Argon2id
// (RFC 9106), which makes each verification deliberately slow (tens of
// milliseconds); at most GOMAXPROCS verifications run at once (see
// [VerifySecret]). Existing bcrypt hashes ("$2a$", "$2b$", "$2y$") are also
// accepted by VerifySecret, for secrets imported from other systems.
func HashLowEntropySecret(secret string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := io.ReadFull(rand.Reader, salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(secret), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifySecret reports whether secret matches hash, a value made by
// HashSecret, HashLowEntropySecret or bcrypt. Comparisons are constant-time.
// An empty or unrecognised hash matches nothing.
//
// Slow hashes (Argon2id, bcrypt) run at most GOMAXPROCS at once, with a
// bounded number of callers waiting: beyond it VerifySecret returns an error
// wrapping ErrUnavailable at once, and a caller whose ctx ends while it
// waits gets ctx's error without any hashing. A SHA-256 hash of a generated
// secret is checked at once and never fails.
func VerifySecret(ctx context.Context, hash, secret string) (bool, error) {
	switch {
	case strings.HasPrefix(hash, "$sha256$"):
		return verifySHA256(hash, secret), nil
	case strings.HasPrefix(hash, "$argon2id$"):
		return verifyArgon2id(ctx, hash, secret)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return slowVerify(ctx, func() bool { return bcrypt.CompareHashAndPassword([]byte(hash), []byte(secret)) == nil })
	default:
		return false, nil
	}
}

// verifySHA256 checks a HashSecret hash.
func verifySHA256(hash, secret string) bool {
	// Compare encoded forms, copied to the stack: no allocation.
	var stored, computed [43]byte
	if len(hash) != len("$sha256$")+len(stored) {
		return false
	}
	copy(stored[:], hash[len("$sha256$"):])
	var buf [128]byte // generated secrets are 43 bytes: hash them without a heap copy
	var sum [sha256.Size]byte
	if len(secret) <= len(buf) {
		sum = sha256.Sum256(buf[:copy(buf[:], secret)])
	} else {
		sum = sha256.Sum256([]byte(secret))
	}
	base64.RawURLEncoding.Encode(computed[:], sum[:])
	return subtle.ConstantTimeCompare(stored[:], computed[:]) == 1
}

func verifyArgon2id(ctx context.Context, hash, secret string) (bool, error) {
	// $argon2id$v=19$m=65536,t=1,p=2$salt$key
	parts := strings.Split(hash, "$")
	if len(parts) != 6 {
		return false, nil
	}
	var version int
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, nil
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil ||
		memory == 0 || memory > argonMaxMemory || time == 0 || time > 16 || threads == 0 {
		return false, nil
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 || len(key) > 128 {
		return false, nil
	}
	return slowVerify(ctx, func() bool {
		got := argon2.IDKey([]byte(secret), salt, time, memory, threads, uint32(len(key)))
		return subtle.ConstantTimeCompare(got, key) == 1
	})
}
