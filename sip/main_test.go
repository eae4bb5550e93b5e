package sip_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind; the
// integration tests also check after each server's Run returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
