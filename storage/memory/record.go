package memory

import (
	"encoding/binary"
	"strings"
	"time"

	"github.com/oauthkit/oauthkit"
)

// record is a token as the store keeps it: every field packed into one
// immutable string. A stored token is then a single pointer-free block,
// which the garbage collector need not scan; a Token struct holds some
// eighteen pointers (strings, slices, time zones), and with a few hundred
// thousand tokens stored, scanning them cost more than serving the request.
//
// Layout: ExpiresAt and RotatedAt as Unix nanoseconds (8 bytes each, at
// fixed offsets, so that sweeps and rotation checks read them without
// decoding), Kind (1 byte), flags (1 byte: SubjectIsClient), IssuedAt and
// AuthTime (8 bytes each), then the
// strings ID, GrantID, ParentID, ClientID, Subject, ACR and JKT, and the
// lists Scope, Audience and Actors (the subjects of the Actor chain, the
// current actor first), each length-prefixed with a uvarint.
type record string

const (
	offExpires  = 0
	offRotated  = 8
	offKind     = 16
	offFlags    = 17
	offIssued   = 18
	offAuthTime = 26
	offStrings  = 34

	flagSubjectIsClient = 1 << 0
	zeroTime            = uint64(1) << 63 // the encoding of time.Time{}: MinInt64
)

func encodeTime(t time.Time) uint64 {
	if t.IsZero() {
		return zeroTime
	}
	return uint64(t.UnixNano())
}

func decodeTime(v uint64) time.Time {
	if v == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, int64(v)).UTC()
}

// encode packs t into a record, RotatedAt included.
func encode(t *oauthkit.Token) record {
	var b strings.Builder
	n := offStrings + len(t.ID) + len(t.GrantID) + len(t.ParentID) + len(t.ClientID) + len(t.Subject) + len(t.ACR) + len(t.JKT) + 20
	for _, s := range t.Scope {
		n += len(s) + 2
	}
	for _, s := range t.Audience {
		n += len(s) + 2
	}
	b.Grow(n)
	var fixed [offStrings]byte
	binary.LittleEndian.PutUint64(fixed[offExpires:], encodeTime(t.ExpiresAt))
	binary.LittleEndian.PutUint64(fixed[offRotated:], encodeTime(t.RotatedAt))
	fixed[offKind] = byte(t.Kind)
	if t.SubjectIsClient {
		fixed[offFlags] |= flagSubjectIsClient
	}
	binary.LittleEndian.PutUint64(fixed[offIssued:], encodeTime(t.IssuedAt))
	binary.LittleEndian.PutUint64(fixed[offAuthTime:], encodeTime(t.AuthTime))
	b.Write(fixed[:])
	for _, s := range [...]string{t.ID, t.GrantID, t.ParentID, t.ClientID, t.Subject, t.ACR, t.JKT} {
		writeString(&b, s)
	}
	var actors []string
	for a := t.Actor; a != nil; a = a.Actor {
		actors = append(actors, a.Subject)
	}
	for _, list := range [...][]string{t.Scope, t.Audience, actors} {
		writeUvarint(&b, uint64(len(list)))
		for _, s := range list {
			writeString(&b, s)
		}
	}
	return record(b.String())
}

func writeUvarint(b *strings.Builder, v uint64) {
	var buf [binary.MaxVarintLen64]byte
	b.Write(buf[:binary.PutUvarint(buf[:], v)])
}

func writeString(b *strings.Builder, s string) {
	writeUvarint(b, uint64(len(s)))
	b.WriteString(s)
}

func (r record) uint64At(off int) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(r[off+i])
	}
	return v
}

func (r record) expiresAt() time.Time     { return decodeTime(r.uint64At(offExpires)) }
func (r record) rotated() bool            { return r.uint64At(offRotated) != zeroTime }
func (r record) rotatedAt() time.Time     { return decodeTime(r.uint64At(offRotated)) }
func (r record) kind() oauthkit.TokenKind { return oauthkit.TokenKind(r[offKind]) }

// expired reports whether the token is expired at now.
func (r record) expired(now time.Time) bool {
	return !now.Before(r.expiresAt())
}

// withRotatedAt returns a copy of r with RotatedAt set.
func (r record) withRotatedAt(at time.Time) record {
	b := []byte(r)
	binary.LittleEndian.PutUint64(b[offRotated:], encodeTime(at))
	return record(b)
}

// token decodes r. Its strings share r's memory, which never changes; its
// slices are the caller's own.
func (r record) token() *oauthkit.Token {
	t := &oauthkit.Token{
		ExpiresAt:       r.expiresAt(),
		RotatedAt:       r.rotatedAt(),
		Kind:            r.kind(),
		SubjectIsClient: r[offFlags]&flagSubjectIsClient != 0,
		IssuedAt:        decodeTime(r.uint64At(offIssued)),
		AuthTime:        decodeTime(r.uint64At(offAuthTime)),
	}
	rest := string(r[offStrings:])
	for _, f := range [...]*string{&t.ID, &t.GrantID, &t.ParentID, &t.ClientID, &t.Subject, &t.ACR, &t.JKT} {
		*f, rest = readString(rest)
	}
	var actors []string
	for _, list := range [...]*[]string{&t.Scope, &t.Audience, &actors} {
		var n uint64
		n, rest = readUvarint(rest)
		if n == 0 {
			continue
		}
		*list = make([]string, n)
		for i := range *list {
			(*list)[i], rest = readString(rest)
		}
	}
	for i := len(actors) - 1; i >= 0; i-- {
		t.Actor = &oauthkit.Actor{Subject: actors[i], Actor: t.Actor}
	}
	return t
}

// id returns the token's ID, sharing r's memory.
func (r record) id() string {
	id, _ := readString(string(r[offStrings:]))
	return id
}

// grantAndParent decodes only GrantID and ParentID, for index upkeep.
func (r record) grantAndParent() (grantID, parentID string) {
	rest := string(r[offStrings:])
	_, rest = readString(rest) // ID
	grantID, rest = readString(rest)
	parentID, _ = readString(rest)
	return grantID, parentID
}

func readUvarint(s string) (uint64, string) {
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, s[i+1:]
		}
	}
	panic("memory: corrupt record") // records are made by encode only
}

func readString(s string) (string, string) {
	n, rest := readUvarint(s)
	return rest[:n], rest[n:]
}

// userSubject decodes the Subject of a resource owner's token; ok is false
// for a token issued to a client for itself.
func (r record) userSubject() (subject string, ok bool) {
	if r[offFlags]&flagSubjectIsClient != 0 {
		return "", false
	}
	rest := string(r[offStrings:])
	for range 4 { // ID, GrantID, ParentID, ClientID
		_, rest = readString(rest)
	}
	subject, _ = readString(rest)
	return subject, true
}
