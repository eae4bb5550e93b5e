package config

import (
	"slices"
	"strconv"
)

// Secrets selects secrets by what uses them, for Config.ResolveSecrets and LoadFor.
type Secrets uint8

const (
	// SecretDatabase is database.dsn: every command that opens the database needs it.
	SecretDatabase Secrets = 1 << iota
	// SecretTrunks are the trunks' password and inbound_password: the SIP side needs them.
	SecretTrunks
	// SecretVerification is verification.webhook_token: sending cell phone codes needs it.
	SecretVerification

	// AllSecrets is every secret: what the gateway (teamline serve) needs.
	AllSecrets = SecretDatabase | SecretTrunks | SecretVerification
)

// ResolveSecrets reads the secrets selected by need that are given as {env: NAME} or {file: PATH} and
// have not been read yet, and checks their values as Validate checks inline ones (a DSN's form, a
// token's characters). Secrets not selected stay unread: a command that never uses a trunk does not
// need the trunks' password variables.
//
// Every problem is reported at once, as an *Error naming file, line and key, like Load's. Secrets read
// successfully keep their values even when others fail.
func (c *Config) ResolveSecrets(need Secrets) error {
	v := &validator{src: c.src}
	v.resolveSecrets(c, need)
	return problemsError(v.problems)
}

// secretRef is one secret of a config, with its key path, its use and the value check that applies
// once it is read.
type secretRef struct {
	path  string
	use   Secrets
	s     *Secret
	check func(v *validator)
}

func (c *Config) secretRefs() []secretRef {
	refs := []secretRef{
		{"database.dsn", SecretDatabase, &c.Database.DSN, func(v *validator) { v.dsn(&c.Database, c.DataDir) }},
		{"verification.webhook_token", SecretVerification, &c.Verification.WebhookToken, func(v *validator) { v.webhookToken(&c.Verification) }},
	}
	for i := range c.Trunks {
		p := "trunks[" + strconv.Itoa(i) + "]"
		refs = append(refs,
			secretRef{path: p + ".password", use: SecretTrunks, s: &c.Trunks[i].Password},
			secretRef{path: p + ".inbound_password", use: SecretTrunks, s: &c.Trunks[i].InboundPassword})
	}
	return refs
}

func (v *validator) resolveSecrets(c *Config, need Secrets) {
	if need&SecretTrunks != 0 {
		// Copies of the config share the trunk list; reading secrets into this one must not change
		// theirs.
		c.Trunks = slices.Clone(c.Trunks)
	}
	for _, r := range c.secretRefs() {
		if r.use&need == 0 || !r.s.pending {
			continue
		}
		if err := r.s.resolve(); err != nil {
			v.add(r.path, "%s", err)
			continue
		}
		if r.check != nil {
			r.check(v)
		}
	}
}
