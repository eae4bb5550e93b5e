package media

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv("MEDIA_PUMP") != "" {
		os.Exit(pumpMain()) // the child of BenchmarkRelayCPU
	}
	goleak.VerifyTestMain(m)
}
