package config

import "testing"

func TestLoadDefaultsAppliesEnv(t *testing.T) {
	t.Setenv(EnvDatabaseDSN, "mysql://teamline:s3cret@db.internal:3306/teamline")
	cfg, err := LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	driver, _, err := cfg.Database.Driver(cfg.DataDir)
	if err != nil || driver != DriverMySQL {
		t.Fatalf("driver = %q, %v; want mysql from the environment", driver, err)
	}
	t.Setenv(EnvDatabaseDSN, "nonsense://x")
	if _, err := LoadDefaults(); err == nil {
		t.Fatal("a bad DSN in the environment was accepted")
	}
}
