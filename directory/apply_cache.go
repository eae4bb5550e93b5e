package directory

import (
	"context"
	"slices"
	"time"
)

// applyCache remembers the settings and users for the length of one apply
// transaction: a file of 10,000 leads names the same few agents 10,000
// times, and every lead's check reads the settings. Writes of users or
// settings through the cache drop what it remembers.
type applyCache struct {
	Queries
	settings *Settings
	users    map[string]User
}

func newApplyCache(q Queries) *applyCache {
	return &applyCache{Queries: q, users: map[string]User{}}
}

func (c *applyCache) GetSettings(ctx context.Context) (Settings, error) {
	if c.settings == nil {
		st, err := c.Queries.GetSettings(ctx)
		if err != nil {
			return st, err
		}
		c.settings = &st
	}
	st := *c.settings
	st.Roles = slices.Clone(st.Roles)
	st.UsageAlertPercents = slices.Clone(st.UsageAlertPercents)
	return st, nil
}

func (c *applyCache) PutSettings(ctx context.Context, s Settings, at time.Time) error {
	c.settings = nil
	return c.Queries.PutSettings(ctx, s, at)
}

func (c *applyCache) GetUserByUsername(ctx context.Context, username string) (User, error) {
	if u, ok := c.users[username]; ok {
		return cloneUser(u), nil
	}
	u, err := c.Queries.GetUserByUsername(ctx, username)
	if err == nil {
		c.users[username] = cloneUser(u)
	}
	return u, err
}

func (c *applyCache) CreateUser(ctx context.Context, u *User) error {
	clear(c.users)
	return c.Queries.CreateUser(ctx, u)
}

func (c *applyCache) UpdateUser(ctx context.Context, u *User) error {
	clear(c.users)
	return c.Queries.UpdateUser(ctx, u)
}

func (c *applyCache) DeleteUser(ctx context.Context, id int64) error {
	clear(c.users)
	return c.Queries.DeleteUser(ctx, id)
}

// DeleteNumber may clear users' default numbers.
func (c *applyCache) DeleteNumber(ctx context.Context, id int64) error {
	clear(c.users)
	return c.Queries.DeleteNumber(ctx, id)
}

func cloneUser(u User) User {
	if u.SIP != nil {
		sip := *u.SIP
		u.SIP = &sip
	}
	return u
}
