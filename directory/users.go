package directory

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Password bounds for SIP passwords: short ones fall to the scanners that
// sweep every public SIP port.
const (
	minSIPPassword = 8
	maxSIPPassword = 128
)

// HA1 computes the digest HA1 values of RFC 7616 section 3.4.2,
// H(username ":" realm ":" password), for MD5 and SHA-256.
func HA1(username, realm, password string) SIPCredential {
	in := username + ":" + realm + ":" + password
	m := md5.Sum([]byte(in))
	s := sha256.Sum256([]byte(in))
	return SIPCredential{Realm: realm, HA1MD5: hex.EncodeToString(m[:]), HA1SHA256: hex.EncodeToString(s[:])}
}

// PasswordMatches reports whether a plain password produces the stored
// credential (apply uses it to see that nothing changed).
func (c *SIPCredential) PasswordMatches(username, password string) bool {
	return c != nil && *c == HA1(username, c.Realm, password)
}

// ListUsers returns a page of users.
func (s *Service) ListUsers(ctx context.Context, p Page) ([]User, error) {
	return s.q(ctx).ListUsers(ctx, p)
}

// GetUser returns one user.
func (s *Service) GetUser(ctx context.Context, id int64) (User, error) {
	return s.q(ctx).GetUser(ctx, id)
}

// GetUserByUsername returns one user by username.
func (s *Service) GetUserByUsername(ctx context.Context, username string) (User, error) {
	return s.q(ctx).GetUserByUsername(ctx, strings.ToLower(strings.TrimSpace(username)))
}

// CreateUser validates and stores a new user. Managers only; only the
// primary manager appoints a primary manager, who then takes over the role
// (there is one per account).
func (s *Service) CreateUser(ctx context.Context, u User) (User, error) {
	if err := requireManager(ctx, "add users"); err != nil {
		return User{}, err
	}
	err := s.tx(ctx, func(q Queries) error {
		if err := s.checkUser(ctx, q, &u, nil); err != nil {
			return err
		}
		if err := s.handOver(ctx, q, u, nil); err != nil {
			return err
		}
		u.CreatedAt = s.stamp()
		u.UpdatedAt = u.CreatedAt
		return q.CreateUser(ctx, &u)
	})
	if err != nil {
		return User{}, err
	}
	return s.q(ctx).GetUser(ctx, u.ID)
}

// UpdateUser replaces a user (by u.ID) with u. Managers change any user
// (the primary manager role only by the primary manager); agents change
// only themselves, and only their name, email, cell phone, SIP password,
// default number, and dialer access where the account lets them (R-ACC-2).
// Changing the cell phone clears its verification (R-ACC-3).
func (s *Service) UpdateUser(ctx context.Context, u User) (User, error) {
	err := s.tx(ctx, func(q Queries) error {
		old, err := q.GetUser(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := unchangedSince(u.UpdatedAt, old.UpdatedAt, "user", old.Username); err != nil {
			return err
		}
		if err := s.checkUser(ctx, q, &u, &old); err != nil {
			return err
		}
		if err := s.handOver(ctx, q, u, &old); err != nil {
			return err
		}
		u.CreatedAt = old.CreatedAt
		u.UpdatedAt = s.stamp()
		return q.UpdateUser(ctx, &u)
	})
	if err != nil {
		return User{}, err
	}
	return s.q(ctx).GetUser(ctx, u.ID)
}

// DeleteUser removes a user. Refused while the user owns numbers or sits in
// a routing rule (move those first); the user's lead assignments and API
// tokens go with the user. The primary manager cannot be deleted.
func (s *Service) DeleteUser(ctx context.Context, id int64) error {
	if err := requireManager(ctx, "delete users"); err != nil {
		return err
	}
	return s.tx(ctx, func(q Queries) error {
		u, err := q.GetUser(ctx, id)
		if err != nil {
			return err
		}
		if u.Role == RolePrimaryManager {
			return conflictf("user %q is the primary manager; make another user primary manager first", u.Username)
		}
		owned, err := q.ListNumbers(ctx, NumberFilter{Kind: KindPersonal, Owner: u.Username})
		if err != nil {
			return err
		}
		if len(owned) > 0 {
			nums := make([]string, len(owned))
			for i, n := range owned {
				nums[i] = n.E164
			}
			return conflictf("user %q owns numbers %s; delete or reassign them first", u.Username, strings.Join(nums, ", "))
		}
		rules, err := q.ListRules(ctx)
		if err != nil {
			return err
		}
		for _, r := range rules {
			if ruleHasUser(r, u.Username) {
				return conflictf("user %q is in routing rule %q; remove them from it first", u.Username, r.Name)
			}
		}
		return q.DeleteUser(ctx, id)
	})
}

func ruleHasUser(r Rule, username string) bool {
	for _, a := range append(append([]RuleAgent(nil), r.Agents...), r.Lenders...) {
		if a.User == username {
			return true
		}
	}
	return false
}

// checkUser normalises and validates u; old is the stored user on update.
func (s *Service) checkUser(ctx context.Context, q Queries, u *User, old *User) error {
	u.Username = strings.ToLower(strings.TrimSpace(u.Username))
	u.Name = strings.TrimSpace(u.Name)
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	u.CellPhone = strings.TrimSpace(u.CellPhone)
	u.DefaultNumber = strings.TrimSpace(u.DefaultNumber)

	if err := s.checkUserAccess(ctx, u, old); err != nil {
		return err
	}

	v := &ValidationError{Object: "user"}
	if !ValidUsername(u.Username) {
		v.add("username", "must be 1-64 of a-z 0-9 . _ - starting with a letter or digit")
	}
	v.required("name", u.Name, maxName)
	if u.Email != "" {
		v.text("email", u.Email, 254)
		if at := strings.IndexByte(u.Email, '@'); at < 1 || at == len(u.Email)-1 || strings.ContainsAny(u.Email, " \t") {
			v.add("email", "is not an email address")
		}
	}
	switch u.Role {
	case RolePrimaryManager, RoleManager, RoleAgent:
	case "":
		v.add("role", "is required (primary_manager, manager or agent)")
	default:
		v.add("role", "must be primary_manager, manager or agent")
	}
	if u.CellPhone != "" {
		v.phone("cell_phone", s.phones, &u.CellPhone)
	}
	if old != nil && u.CellPhone != old.CellPhone && u.CellVerified && old.CellVerified {
		// A new cell phone is unverified, whoever changes it (R-ACC-3).
		u.CellVerified = false
	}
	if u.CellPhone == "" {
		u.CellVerified = false
	}
	s.checkSIP(v, u, old)
	if u.DefaultNumber != "" {
		v.phone("default_number", s.phones, &u.DefaultNumber)
	}
	if err := v.err(); err != nil {
		return err
	}

	// Checks against the rest of the directory.
	if old != nil && old.Role == RolePrimaryManager && u.Role != RolePrimaryManager {
		return conflictf("the primary manager keeps the role until another user is made primary manager")
	}
	if u.DefaultNumber != "" {
		n, err := q.GetNumberByE164(ctx, u.DefaultNumber)
		switch {
		case isNotFound(err):
			v.add("default_number", "%s is not a number of this account", u.DefaultNumber)
		case err != nil:
			return err
		case n.Kind == KindCatchAll, n.Kind == KindPersonal && n.Owner != u.Username && (old == nil || n.Owner != old.Username):
			// (On a rename the number is still stored under the old username.)
			v.add("default_number", "%s is not a role number or the user's own personal number", u.DefaultNumber)
		}
	}
	if u.DialerAccess && (old == nil || !old.DialerAccess) {
		ok, err := hasBuyerNumber(ctx, q)
		if err != nil {
			return err
		}
		if !ok {
			v.add("dialer_access", "the dialer cannot be enabled until a buyer role number exists")
		}
	}
	return v.err()
}

// checkSIP turns a given password into the stored credential, or checks a
// credential given as HA1 values (directory file).
func (s *Service) checkSIP(v *ValidationError, u *User, old *User) {
	switch {
	case u.SIPPassword != "":
		n := utf8.RuneCountInString(u.SIPPassword)
		if n < minSIPPassword || n > maxSIPPassword {
			v.add("sip_password", "must be %d to %d characters", minSIPPassword, maxSIPPassword)
			return
		}
		if !utf8.ValidString(u.SIPPassword) || strings.ContainsFunc(u.SIPPassword, unicode.IsControl) {
			// Phones cannot type them, and they break provisioning files.
			v.add("sip_password", "must be printable characters")
			return
		}
		if old != nil && old.Username == u.Username && old.SIP != nil && old.SIP.Realm == s.realm &&
			old.SIP.PasswordMatches(u.Username, u.SIPPassword) {
			// The same password again: keep the stored credential.
			u.SIP, u.SIPPassword = old.SIP, ""
			return
		}
		c := HA1(u.Username, s.realm, u.SIPPassword)
		u.SIP = &c
		u.SIPPassword = ""
	case u.SIP != nil:
		u.SIP.HA1MD5 = strings.ToLower(u.SIP.HA1MD5)
		u.SIP.HA1SHA256 = strings.ToLower(u.SIP.HA1SHA256)
		if u.SIP.Realm == "" {
			u.SIP.Realm = s.realm
		}
		if !reHex32.MatchString(u.SIP.HA1MD5) {
			v.add("sip_ha1.md5", "must be 32 hex digits")
		}
		if !reHex64.MatchString(u.SIP.HA1SHA256) {
			v.add("sip_ha1.sha256", "must be 64 hex digits")
		}
	case old != nil && old.Username == u.Username:
		// No credential given: keep the stored one.
		u.SIP = old.SIP
	case old != nil && old.SIP != nil:
		// HA1 covers the username, so a rename voids the password.
		v.add("sip_password", "a new username needs a new SIP password")
	}
}

// checkUserAccess applies R-ACC to a user change.
func (s *Service) checkUserAccess(ctx context.Context, u *User, old *User) error {
	a, ok := ActorFrom(ctx)
	if !ok {
		return nil
	}
	if (u.Role == RolePrimaryManager) != (old != nil && old.Role == RolePrimaryManager) && a.Role != RolePrimaryManager {
		return forbiddenf("only the primary manager may appoint a primary manager")
	}
	if old != nil && old.Role == RolePrimaryManager && a.Role != RolePrimaryManager {
		return forbiddenf("only the primary manager may change the primary manager")
	}
	if a.Role.IsManager() {
		return nil
	}
	if old == nil || old.ID != a.UserID {
		return forbiddenf("agents may change only their own user")
	}
	if u.Username != old.Username || u.Role != old.Role {
		return forbiddenf("agents may not change their username or role")
	}
	if u.CellVerified && !old.CellVerified {
		return forbiddenf("a cell phone is verified by the code sent to it, not set")
	}
	if u.DialerAccess && !old.DialerAccess {
		st, err := s.q(ctx).GetSettings(ctx)
		if err != nil {
			return err
		}
		if !st.AgentsMayEnableDialer {
			return forbiddenf("agents may not enable the dialer for themselves on this account")
		}
	}
	return nil
}

// handOver makes room for a new primary manager: appointing one (only the
// primary manager or the operator may, see checkUserAccess) turns the
// current one into a manager in the same transaction, so the account always
// has exactly one (R-ACC-1).
func (s *Service) handOver(ctx context.Context, q Queries, u User, old *User) error {
	if u.Role != RolePrimaryManager || (old != nil && old.Role == RolePrimaryManager) {
		return nil
	}
	pm, err := s.primaryManager(ctx, q)
	if err != nil || pm == nil {
		return err
	}
	pm.Role = RoleManager
	pm.UpdatedAt = s.stamp()
	s.log.Info("primary manager handed over", "from", pm.Username, "to", u.Username)
	return q.UpdateUser(ctx, pm)
}

func (s *Service) primaryManager(ctx context.Context, q Queries) (*User, error) {
	us, err := q.ListUsers(ctx, Page{})
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		if u.Role == RolePrimaryManager {
			return &u, nil
		}
	}
	return nil, nil
}
