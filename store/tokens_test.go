package store_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
)

func TestTokens(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		alice := user(t, s, "alice")
		user(t, s, "bob")
		exp := time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.FixedZone("EST", -5*3600))
		h1 := sha256.Sum256([]byte("tl_secret_one"))
		t1 := directory.Token{Name: "CRM sync", User: "alice", Prefix: "tl_secr", ExpiresAt: &exp}
		must(t, s.CreateToken(ctx, &t1, h1[:]))
		if t1.ID == 0 || t1.CreatedAt.IsZero() || !t1.ExpiresAt.Equal(exp.Truncate(time.Microsecond)) {
			t.Fatalf("CreateToken set %+v", t1)
		}
		h2 := sha256.Sum256([]byte("tl_secret_two"))
		t2 := directory.Token{Name: "bob's", User: "bob", Prefix: "tl_sec2"}
		must(t, s.CreateToken(ctx, &t2, h2[:]))

		same(t, "by hash", get(s.GetTokenByHash(ctx, h1[:]))(t), t1)
		_, err := s.GetTokenByHash(ctx, []byte("nope"))
		isErr(t, err, directory.ErrNotFound)
		isErr(t, s.CreateToken(ctx, &directory.Token{Name: "dup", User: "bob"}, h1[:]), directory.ErrConflict, "token")
		isErr(t, s.CreateToken(ctx, &directory.Token{Name: "x", User: "ghost"}, []byte{9}), directory.ErrNotFound, `"ghost"`)

		same(t, "all", get(s.ListTokens(ctx, ""))(t), []directory.Token{t1, t2})
		same(t, "alice's", get(s.ListTokens(ctx, "alice"))(t), []directory.Token{t1})
		same(t, "ghost's", get(s.ListTokens(ctx, "ghost"))(t), []directory.Token{})

		used := time.Date(2025, 5, 5, 5, 5, 5, 5555, time.UTC)
		must(t, s.TouchToken(ctx, t2.ID, used))
		got := get(s.GetTokenByHash(ctx, h2[:]))(t)
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(used.Truncate(time.Microsecond)) {
			t.Errorf("LastUsedAt = %v", got.LastUsedAt)
		}
		isErr(t, s.TouchToken(ctx, 999, used), directory.ErrNotFound)

		must(t, s.DeleteToken(ctx, t2.ID))
		isErr(t, s.DeleteToken(ctx, t2.ID), directory.ErrNotFound)

		// Tokens go with their user.
		must(t, s.DeleteUser(ctx, alice.ID))
		same(t, "after deleting alice", get(s.ListTokens(ctx, ""))(t), []directory.Token{})
	})
}
