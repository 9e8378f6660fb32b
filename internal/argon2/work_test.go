package argon2

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"runtime"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// dirty fills work's blocks with a pattern, as a previous hash would leave them.
func dirty(w *Work) {
	for i := range w.blocks {
		for j := range w.blocks[i] {
			w.blocks[i][j] = uint64(i)*0x9e3779b97f4a7c15 ^ uint64(j)
		}
	}
}

// TestIDKeyWithMatchesXCrypto: a reused work area — left dirty by other
// hashes — gives x/crypto's key, for several costs, lane counts and
// passwords: in an area of the same size, and in the first blocks of a
// larger one.
func TestIDKeyWithMatchesXCrypto(t *testing.T) {
	large := new(Work)
	IDKeyWith(large, nil, []byte("0123456789abcdef"), 1, 20480, 1, 32)
	for _, c := range []struct {
		time, memory uint32
		threads      uint8
	}{
		{1, 64, 1}, {2, 64, 1}, {3, 256, 1}, {2, 256, 4}, {1, 1024, 2}, {1, 19456, 1}, {3, 100, 3},
	} {
		work := new(Work)
		for _, pw := range []string{"", "correct horse", "another password"} {
			name := fmt.Sprintf("t=%d,m=%d,p=%d,%q", c.time, c.memory, c.threads, pw)
			salt := []byte("0123456789abcdef")
			want := xargon2.IDKey([]byte(pw), salt, c.time, c.memory, c.threads, 32)
			dirty(work)
			if got := IDKeyWith(work, []byte(pw), salt, c.time, c.memory, c.threads, 32); !bytes.Equal(got, want) {
				t.Errorf("%s: IDKeyWith = %x, want x/crypto's %x", name, got, want)
			}
			dirty(large)
			if got := IDKeyWith(large, []byte(pw), salt, c.time, c.memory, c.threads, 32); !bytes.Equal(got, want) {
				t.Errorf("%s: IDKeyWith in a larger area = %x, want x/crypto's %x", name, got, want)
			}
			if got := IDKey([]byte(pw), salt, c.time, c.memory, c.threads, 32); !bytes.Equal(got, want) {
				t.Errorf("%s: IDKey = %x, want x/crypto's %x", name, got, want)
			}
		}
	}
}

// TestVectorsWithDirtyWork runs the argon2id test vectors in a reused, dirty work area.
func TestVectorsWithDirtyWork(t *testing.T) {
	password, salt := []byte("password"), []byte("somesalt")
	for i, v := range testVectors {
		if v.mode != argon2id {
			continue
		}
		work := new(Work)
		want, err := hex.DecodeString(v.hash)
		if err != nil {
			t.Fatal(err)
		}
		for round := 0; round < 2; round++ {
			dirty(work)
			if got := IDKeyWith(work, password, salt, v.time, v.memory, v.threads, uint32(len(want))); !bytes.Equal(got, want) {
				t.Errorf("vector %d, round %d: got %x, want %x", i, round, got, want)
			}
		}
	}
}

// TestWorkIsReused: a work area is allocated at its first use and then
// reused, by a smaller cost too; a larger cost grows it.
func TestWorkIsReused(t *testing.T) {
	work := new(Work)
	if work.Size() != 0 {
		t.Fatalf("Size before use = %d, want 0", work.Size())
	}
	salt := []byte("saltsaltsaltsalt")
	IDKeyWith(work, []byte("a"), salt, 1, 1024, 1, 32)
	if work.Size() != 1024 {
		t.Fatalf("Size = %d, want 1024", work.Size())
	}
	bytesPerCall := func(memory uint32) float64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 5 {
			IDKeyWith(work, []byte("b"), salt, 1, memory, 1, 32)
		}
		runtime.ReadMemStats(&after)
		return float64(after.TotalAlloc-before.TotalAlloc) / 5
	}
	// The blake2b states, the key and the lane goroutines: a few KiB, never the 1 MiB area.
	if b := bytesPerCall(1024); b > 64<<10 {
		t.Errorf("a reused call allocated %.0f bytes", b)
	}
	if b := bytesPerCall(512); b > 64<<10 {
		t.Errorf("a call with a smaller cost allocated %.0f bytes", b)
	}
	if work.Size() != 1024 {
		t.Errorf("Size after a call with a smaller cost = %d, want 1024", work.Size())
	}
	IDKeyWith(work, []byte("c"), salt, 1, 2048, 1, 32)
	if work.Size() != 2048 {
		t.Errorf("Size after a call with a larger cost = %d, want 2048", work.Size())
	}
}

// BenchmarkIDKeyReuse compares Gatehouse's default cost (19456 KiB, t=2,
// p=1) in a fresh allocation (x/crypto) and in a reused work area.
func BenchmarkIDKeyReuse(b *testing.B) {
	pw, salt := []byte("password"), []byte("saltsaltsaltsalt")
	b.Run("x/crypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			xargon2.IDKey(pw, salt, 2, 19456, 1, 32)
		}
	})
	b.Run("reused", func(b *testing.B) {
		work := new(Work)
		IDKeyWith(work, pw, salt, 2, 19456, 1, 32)
		b.ReportAllocs()
		for b.Loop() {
			IDKeyWith(work, pw, salt, 2, 19456, 1, 32)
		}
	})
}
