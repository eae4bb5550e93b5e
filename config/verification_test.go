package config

import (
	"strings"
	"testing"
)

func TestVerificationWebhook(t *testing.T) {
	t.Setenv("TL_TEST_WEBHOOK_TOKEN", testPassword)
	cfg, err := LoadFor(writeConfig(t, `
verification:
  sender: webhook
  webhook_url: https://sms.example.com/send?account=7
  webhook_token: {env: TL_TEST_WEBHOOK_TOKEN}
`), SecretVerification)
	if err != nil {
		t.Fatal(err)
	}
	v := cfg.Verification
	if v.Sender != VerificationSenderWebhook || v.WebhookURL != "https://sms.example.com/send?account=7" ||
		v.WebhookToken.Value() != testPassword || v.LogCodes {
		t.Fatalf("verification = %+v", v)
	}
	if strings.Contains(v.WebhookToken.String(), testPassword) {
		t.Fatal("the webhook token prints")
	}
}

func TestVerificationProblems(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		wants []want
	}{
		{"unknown sender", "verification:\n  sender: sms\n", []want{{2, "verification.sender", `"sms": want one of log, webhook`}}},
		{"webhook without url", "verification:\n  sender: webhook\n", []want{{2, "verification.webhook_url", "required with sender webhook"}}},
		{"webhook keys with log", "verification:\n  webhook_url: https://h/x\n  webhook_token: t\n",
			[]want{{2, "verification.webhook_url", "only used with sender webhook"}, {3, "verification.webhook_token", "only used with sender webhook"}}},
		{"log codes with webhook", "verification:\n  sender: webhook\n  log_codes: true\n  webhook_url: https://h/x\n",
			[]want{{3, "verification.log_codes", "only used with sender log"}}},
		{"not http", "verification:\n  sender: webhook\n  webhook_url: ftp://h/x\n", []want{{3, "verification.webhook_url", "http:// or https://"}}},
		{"no host", "verification:\n  sender: webhook\n  webhook_url: 'https:///x'\n", []want{{3, "verification.webhook_url", "names no host"}}},
		{"not a url", "verification:\n  sender: webhook\n  webhook_url: 'http://h/%zz'\n", []want{{3, "verification.webhook_url", "not a URL"}}},
		{"port only", "verification:\n  sender: webhook\n  webhook_url: 'https://:8443/x'\n", []want{{3, "verification.webhook_url", "names no host"}}},
		{"bad host", "verification:\n  sender: webhook\n  webhook_url: 'https://sms..example.com/x'\n",
			[]want{{3, "verification.webhook_url", `"sms..example.com" is not an IP address or host name`}}},
		{"bad port", "verification:\n  sender: webhook\n  webhook_url: 'https://sms.example.com:99999/x'\n",
			[]want{{3, "verification.webhook_url", "port out of range"}}},
		{"token with a newline", "verification:\n  sender: webhook\n  webhook_url: https://h/x\n  webhook_token: \"t\\r\\nX-Evil: 1\"\n",
			[]want{{4, "verification.webhook_token", "must not contain control characters"}}},
		{"typo", "verification:\n  webhook_ulr: https://h/x\n", []want{{2, "verification", `unknown key "webhook_ulr" (did you mean "webhook_url"?)`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			_, err := Load(path)
			checkProblems(t, err, path, tt.wants)
		})
	}
}

// A password in the URL is refused, and the problem does not quote it.
func TestVerificationURLPasswordNotQuoted(t *testing.T) {
	path := writeConfig(t, "verification:\n  sender: webhook\n  webhook_url: https://u:"+testPassword+"@h/x\n")
	_, err := Load(path)
	checkProblems(t, err, path, []want{{3, "verification.webhook_url", "must not carry user:password"}})
	if strings.Contains(err.Error(), testPassword) {
		t.Fatalf("problem quotes the password: %v", err)
	}
}

// Hosts as IP addresses, with ports, are webhook URLs as good as names.
func TestVerificationWebhookURLForms(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080/send", "http://[::1]:8080/send", "https://relay_1.internal/send"} {
		if _, err := Load(writeConfig(t, "verification:\n  sender: webhook\n  webhook_url: '"+u+"'\n")); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}
