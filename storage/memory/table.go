package memory

import (
	"crypto/sha256"
	"encoding/binary"
	"iter"
	"time"
)

// table holds token records by ID without giving the garbage collector
// anything to mark per token: records lie back to back in large byte pages,
// and the index maps a fixed-size key to a page and offset. Neither holds a
// pointer, so a store of a million tokens costs a collection cycle no more
// than an empty one. A Go map of strings or of *Token would make every
// cycle visit every token, which with a few hundred thousand tokens cost
// more than serving the request.
//
// A table is not safe for concurrent use; Tokens guards it with its lock.
type table struct {
	index map[[sha256.Size]byte]slot
	pages [][]byte // records, each after a 4-byte length; nil once emptied
	live  []int    // bytes of live records per page
	free  []int    // emptied pages, to reuse
	cur   int      // the page being filled
}

// slot says where a record is, and when it expires so that sweeps need not
// read the record.
type slot struct {
	page, off uint32
	expires   int64 // Unix nanoseconds
}

// pageSize is the size of a page: large enough that pages are few, small
// enough that a page emptied by expiry is soon reclaimed.
const pageSize = 64 << 10

func newTable() *table {
	return &table{index: make(map[[sha256.Size]byte]slot), cur: -1}
}

// key is the index key of a token ID: its SHA-256, of fixed size and free
// of pointers, whatever the ID's form.
func key(id string) [sha256.Size]byte {
	var buf [64]byte
	if len(id) <= len(buf) {
		return sha256.Sum256(buf[:copy(buf[:], id)])
	}
	return sha256.Sum256([]byte(id))
}

func (t *table) len() int { return len(t.index) }

func (t *table) has(id string) bool {
	_, ok := t.index[key(id)]
	return ok
}

// get returns a copy of the record of id.
func (t *table) get(id string) (record, bool) {
	s, ok := t.index[key(id)]
	if !ok {
		return "", false
	}
	return record(t.bytes(s)), true
}

func (t *table) bytes(s slot) []byte {
	p := t.pages[s.page]
	n := binary.LittleEndian.Uint32(p[s.off:])
	return p[s.off+4 : s.off+4+n]
}

// put stores r as the record of its ID, replacing any earlier one.
func (t *table) put(r record) {
	k := key(r.id())
	if old, ok := t.index[k]; ok {
		t.release(old)
	}
	need := 4 + len(r)
	if t.cur < 0 || len(t.pages[t.cur])+need > cap(t.pages[t.cur]) {
		if t.cur >= 0 && t.live[t.cur] == 0 {
			t.pages[t.cur] = nil // filled, and all of it died meanwhile
			t.free = append(t.free, t.cur)
		}
		t.cur = t.newPage(max(need, pageSize))
	}
	p := t.pages[t.cur]
	off := len(p)
	p = binary.LittleEndian.AppendUint32(p, uint32(len(r)))
	t.pages[t.cur] = append(p, r...)
	t.live[t.cur] += need
	t.index[k] = slot{page: uint32(t.cur), off: uint32(off), expires: r.expiresAt().UnixNano()}
}

func (t *table) newPage(size int) int {
	page := make([]byte, 0, size)
	if n := len(t.free); n > 0 {
		i := t.free[n-1]
		t.free = t.free[:n-1]
		t.pages[i], t.live[i] = page, 0
		return i
	}
	t.pages = append(t.pages, page)
	t.live = append(t.live, 0)
	return len(t.pages) - 1
}

// del forgets the record of id.
func (t *table) del(id string) {
	k := key(id)
	if s, ok := t.index[k]; ok {
		delete(t.index, k)
		t.release(s)
	}
}

// release accounts for the record at s being dead, and frees its page when
// nothing on it lives any more.
func (t *table) release(s slot) {
	n := binary.LittleEndian.Uint32(t.pages[s.page][s.off:])
	t.live[s.page] -= 4 + int(n)
	if t.live[s.page] == 0 && int(s.page) != t.cur {
		t.pages[s.page] = nil
		t.free = append(t.free, int(s.page))
	}
}

// expiredIDs returns the IDs of the tokens expired at now.
func (t *table) expiredIDs(now time.Time) []string {
	var ids []string
	for _, s := range t.index {
		if now.UnixNano() >= s.expires {
			ids = append(ids, record(t.bytes(s)).id())
		}
	}
	return ids
}

// compact moves the records of pages less than a quarter full to the page
// being filled, so that a few long-lived tokens do not pin many pages.
func (t *table) compact() {
	sparse := func(i uint32) bool {
		return int(i) != t.cur && t.pages[i] != nil && t.live[i]*4 < cap(t.pages[i])
	}
	var moving []record
	for _, s := range t.index {
		if sparse(s.page) {
			moving = append(moving, record(t.bytes(s)))
		}
	}
	for _, r := range moving {
		t.put(r)
	}
}

// records yields every stored record. The table must not change while it
// runs.
func (t *table) records() iter.Seq[record] {
	return func(yield func(record) bool) {
		for _, s := range t.index {
			if !yield(record(t.bytes(s))) {
				return
			}
		}
	}
}
