package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// tokenPrefix marks Teamline API tokens so secret scanners and people can
// tell them apart.
const tokenPrefix = "tl_"

// touchEvery limits how often a token's last-used time is written.
const touchEvery = time.Minute

// hashToken is what the store keeps of a secret. Tokens carry 256 random
// bits, so a plain SHA-256 is enough (no password stretching needed).
func hashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateToken makes an API token acting as username and returns the token
// and its secret; the secret is shown this once and never stored. ttl 0 =
// no expiry. Agents make tokens only for themselves; only the primary
// manager makes tokens for the primary manager.
func (s *Service) CreateToken(ctx context.Context, username, name string, ttl time.Duration) (Token, string, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	name = strings.TrimSpace(name)
	v := &ValidationError{Object: "token"}
	v.required("name", name, maxLabel)
	if ttl < 0 {
		v.add("expires_in", "must not be negative")
	}
	if err := v.err(); err != nil {
		return Token{}, "", err
	}
	u, err := s.q(ctx).GetUserByUsername(ctx, username)
	if isNotFound(err) {
		return Token{}, "", &ValidationError{Object: "token", Fields: []FieldError{{Field: "user", Detail: "no user " + strconv.Quote(username)}}}
	} else if err != nil {
		return Token{}, "", err
	}
	if a, ok := ActorFrom(ctx); ok {
		switch {
		case !a.Role.IsManager() && a.UserID != u.ID:
			return Token{}, "", forbiddenf("agents may create tokens only for themselves")
		case u.Role == RolePrimaryManager && a.Role != RolePrimaryManager:
			return Token{}, "", forbiddenf("only the primary manager creates tokens for the primary manager")
		}
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Token{}, "", err
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	t := Token{Name: name, User: u.Username, Prefix: secret[:len(tokenPrefix)+6], CreatedAt: s.stamp()}
	if ttl > 0 {
		exp := t.CreatedAt.Add(ttl)
		t.ExpiresAt = &exp
	}
	if err := s.q(ctx).CreateToken(ctx, &t, hashToken(secret)); err != nil {
		return Token{}, "", err
	}
	return t, secret, nil
}

// ListTokens lists tokens: managers see all, agents their own.
func (s *Service) ListTokens(ctx context.Context) ([]Token, error) {
	user := ""
	if a, ok := ActorFrom(ctx); ok && !a.Role.IsManager() {
		user = a.Username
	}
	return s.q(ctx).ListTokens(ctx, user)
}

// DeleteToken revokes a token: managers any but the primary manager's
// (only the primary manager makes and revokes those), agents their own.
func (s *Service) DeleteToken(ctx context.Context, id int64) error {
	ts, err := s.ListTokens(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.ID != id {
			continue
		}
		if !isPrimary(ctx) {
			u, err := s.q(ctx).GetUserByUsername(ctx, t.User)
			if err != nil && !isNotFound(err) {
				return err
			}
			if err == nil && u.Role == RolePrimaryManager {
				return forbiddenf("only the primary manager revokes the primary manager's tokens")
			}
		}
		return s.q(ctx).DeleteToken(ctx, id)
	}
	return notFoundf("token %d", id)
}

// Authenticate returns the actor a token secret stands for.
func (s *Service) Authenticate(ctx context.Context, secret string) (Actor, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 128 {
		return Actor{}, ErrUnauthenticated
	}
	t, err := s.q(ctx).GetTokenByHash(ctx, hashToken(secret))
	if isNotFound(err) {
		return Actor{}, ErrUnauthenticated
	} else if err != nil {
		return Actor{}, err
	}
	now := s.stamp()
	if t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) {
		return Actor{}, ErrUnauthenticated
	}
	u, err := s.q(ctx).GetUserByUsername(ctx, t.User)
	if isNotFound(err) {
		return Actor{}, ErrUnauthenticated
	} else if err != nil {
		return Actor{}, err
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchEvery {
		if err := s.q(ctx).TouchToken(ctx, t.ID, now); err != nil {
			s.log.Warn("token last-used time not saved", "token_id", t.ID, "err", err)
		}
	}
	return Actor{UserID: u.ID, Username: u.Username, Role: u.Role}, nil
}

// Bootstrap makes a directory without a primary manager usable: it
// creates the primary manager "admin" and an API token for it, and returns
// the token's secret (created true). A directory that has a primary manager
// is left alone. If "admin" is taken by another user, it says how to make a
// primary manager instead.
func (s *Service) Bootstrap(ctx context.Context) (secret string, created bool, err error) {
	pm, err := s.primaryManager(ctx, s.q(ctx))
	if err != nil || pm != nil {
		return "", false, err
	}
	if _, err := s.q(ctx).GetUserByUsername(ctx, "admin"); err == nil {
		return "", false, conflictf("the directory has no primary manager and the username admin is taken; " +
			"make one with: teamline user add --role primary_manager --username NAME --name NAME")
	} else if !isNotFound(err) {
		return "", false, err
	}
	if _, err := s.CreateUser(ctx, User{Username: "admin", Name: "Administrator", Role: RolePrimaryManager}); err != nil {
		return "", false, err
	}
	_, secret, err = s.CreateToken(ctx, "admin", "bootstrap", 0)
	return secret, err == nil, err
}
