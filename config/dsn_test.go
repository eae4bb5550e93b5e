package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func TestDriverSQLite(t *testing.T) {
	tests := []struct {
		dsn, want string
	}{
		{"", filepath.Join("/srv/teamline", DefaultDSNFile)},
		{"sqlite:/var/lib/teamline/t.db", "/var/lib/teamline/t.db"},
		{"sqlite:///var/lib/teamline/t.db", "/var/lib/teamline/t.db"},
		{"sqlite:data/t", "data/t"},
		{"file:/var/lib/t.db?_pragma=busy_timeout(5000)", "file:/var/lib/t.db?_pragma=busy_timeout(5000)"},
		{"/var/lib/teamline/teamline.db", "/var/lib/teamline/teamline.db"},
		{"data/teamline.sqlite3", "data/teamline.sqlite3"},
		{"./t.DB", "./t.DB"},
	}
	for _, tt := range tests {
		d := Database{DSN: NewSecret(tt.dsn)}
		driver, dsn, err := d.Driver("/srv/teamline")
		if err != nil || driver != DriverSQLite || dsn != tt.want {
			t.Errorf("Driver(%q) = %q, %q, %v; want sqlite, %q", tt.dsn, driver, dsn, err, tt.want)
		}
		if r := d.Redacted(); r != tt.dsn {
			t.Errorf("Redacted(%q) = %q", tt.dsn, r)
		}
	}
}

func TestDriverMySQL(t *testing.T) {
	tests := []struct {
		name string
		dsn  string
		want mysql.Config // fields compared: User, Passwd, Net, Addr, DBName, ParseTime, Loc, MultiStatements, TLSConfig
	}{
		{"url", "mysql://teamline:" + testPassword + "@db.example.com:3307/teamline",
			mysql.Config{User: "teamline", Passwd: testPassword, Net: "tcp", Addr: "db.example.com:3307", DBName: "teamline", ParseTime: true, Loc: time.UTC, MultiStatements: false}},
		{"url default port, escaped password, tls", "mysql://teamline:p%40ss%2Fw%3Ard@db.example.com/teamline?tls=true",
			mysql.Config{User: "teamline", Passwd: "p@ss/w:rd", Net: "tcp", Addr: "db.example.com:3306", DBName: "teamline", ParseTime: true, Loc: time.UTC, MultiStatements: false, TLSConfig: "true"}},
		{"url IPv6", "mysql://u:p@[2001:db8::1]:3306/db",
			mysql.Config{User: "u", Passwd: "p", Net: "tcp", Addr: "[2001:db8::1]:3306", DBName: "db", ParseTime: true, Loc: time.UTC, MultiStatements: false}},
		{"url keeps user choices", "mysql://u:p@h/db?parseTime=false&multiStatements=true&loc=Local",
			mysql.Config{User: "u", Passwd: "p", Net: "tcp", Addr: "h:3306", DBName: "db", ParseTime: false, Loc: time.Local, MultiStatements: true}},
		{"driver form", "teamline:" + testPassword + "@tcp(db.example.com:3306)/teamline",
			mysql.Config{User: "teamline", Passwd: testPassword, Net: "tcp", Addr: "db.example.com:3306", DBName: "teamline", ParseTime: true, Loc: time.UTC, MultiStatements: false}},
		{"driver form, .db name, slash in password", "u:pa/ss@tcp(h:3306)/app.db",
			mysql.Config{User: "u", Passwd: "pa/ss", Net: "tcp", Addr: "h:3306", DBName: "app.db", ParseTime: true, Loc: time.UTC, MultiStatements: false}},
		{"driver form keeps user choices", "u:p@tcp(h:3306)/db?parseTime=false&multiStatements=false",
			mysql.Config{User: "u", Passwd: "p", Net: "tcp", Addr: "h:3306", DBName: "db", ParseTime: false, Loc: time.UTC, MultiStatements: false}},
		{"driver form unix socket", "u:p@unix(/run/mysqld/mysqld.sock)/db",
			mysql.Config{User: "u", Passwd: "p", Net: "unix", Addr: "/run/mysqld/mysqld.sock", DBName: "db", ParseTime: true, Loc: time.UTC, MultiStatements: false}},
		{"driver form no password", "root@tcp(127.0.0.1:3306)/db",
			mysql.Config{User: "root", Net: "tcp", Addr: "127.0.0.1:3306", DBName: "db", ParseTime: true, Loc: time.UTC, MultiStatements: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			driver, dsn, err := Database{DSN: NewSecret(tt.dsn)}.Driver("")
			if err != nil || driver != DriverMySQL {
				t.Fatalf("Driver() = %q, %q, %v", driver, dsn, err)
			}
			got, err := mysql.ParseDSN(dsn)
			if err != nil {
				t.Fatalf("driver cannot parse %q: %v", dsn, err)
			}
			w := tt.want
			if got.User != w.User || got.Passwd != w.Passwd || got.Net != w.Net || got.Addr != w.Addr ||
				got.DBName != w.DBName || got.ParseTime != w.ParseTime || got.Loc != w.Loc ||
				got.MultiStatements != w.MultiStatements || got.TLSConfig != w.TLSConfig {
				t.Fatalf("Driver() dsn %q parses to %+v", dsn, got)
			}
			if w.ParseTime && !strings.Contains(dsn, "parseTime=true") || w.MultiStatements && !strings.Contains(dsn, "multiStatements=true") {
				t.Errorf("dsn %q lacks parseTime/multiStatements", dsn)
			}
		})
	}
}

func TestDriverErrorsHidePassword(t *testing.T) {
	tests := []struct {
		dsn    string
		reason string
	}{
		{"mysql://u:" + testPassword + "@h:0/db", "port out of range"},
		{"mysql://u:" + testPassword + "@h/", "needs the database name"},
		{"mysql://u:" + testPassword + "@/db", "has no host"},
		{"mysql://u:" + testPassword + "/x@h/db", "malformed mysql:// URL"},
		{"mysql://u:" + testPassword + "@h/db?parseTime=maybe", "invalid bool value"},
		{"mysql://u:" + testPassword + "@h/db?a=%zz", "malformed query"},
		{"mysql://u:" + testPassword + "@bad_host!/db", "not an IP address or host name"},
		{"u:" + testPassword + "@tcp(h:3306/db", "network address not terminated"},
		{"u:" + testPassword + "@tcp(h:3306)/", "no database name"},
		{"u:" + testPassword + "@tcp(h:99999)/db", "port out of range"},
		{"u:" + testPassword + "@udp(h:3306)/db", "network \"udp\" is not tcp or unix"},
		{"u:" + testPassword + "@foo/db", "default addr for network 'foo' unknown"},
		{"postgres://u:" + testPassword + "@h/db", "not a recognised form"},
		{"teamline", "not a recognised form"},
		{"sqlite:", "has no path"},
		{"file:", "has no path"},
	}
	for _, tt := range tests {
		d := Database{DSN: NewSecret(tt.dsn)}
		_, _, err := d.Driver("/data")
		if err == nil || !errors.Is(err, ErrDSN) || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("Driver(%q) error = %v, want ErrDSN with %q", tt.dsn, err, tt.reason)
			continue
		}
		if strings.Contains(err.Error(), testPassword) || strings.Contains(err.Error(), "Sup3r") {
			t.Errorf("Driver(%q) error reveals the password: %v", tt.dsn, err)
		}
		if r := d.Redacted(); strings.Contains(r, testPassword) || strings.Contains(r, "Sup3r") {
			t.Errorf("Redacted(%q) = %q reveals the password", tt.dsn, r)
		}
		// And through Load: the config error must not carry it either.
		path := writeConfig(t, "database:\n  dsn: '"+tt.dsn+"'\n")
		_, err = Load(path)
		checkProblems(t, err, path, []want{{2, "database.dsn", tt.reason}})
		if strings.Contains(err.Error(), testPassword) {
			t.Errorf("Load error reveals the password: %v", err)
		}
	}
}

// The driver's parameter errors quote the value; a password repeated there (a mistake, but a real one)
// must not come out, as with the driver form.
func TestDriverURLParameterErrorHidesPassword(t *testing.T) {
	d := Database{DSN: NewSecret("mysql://u:" + testPassword + "@h/db?timeout=" + testPassword)}
	_, _, err := d.Driver("/data")
	if err == nil || !strings.Contains(err.Error(), "invalid duration") || strings.Contains(err.Error(), testPassword) {
		t.Fatalf("error = %v; want invalid duration without the password", err)
	}
}

func TestDriverEmptyWithoutDataDir(t *testing.T) {
	if _, _, err := (Database{}).Driver(""); !errors.Is(err, ErrDSN) {
		t.Fatalf("err = %v", err)
	}
}

func TestRedacted(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"mysql://teamline:" + testPassword + "@db.example.com:3306/teamline?tls=true", "mysql://teamline:***@db.example.com:3306/teamline?tls=true"},
		{"mysql://teamline@db.example.com/teamline", "mysql://teamline@db.example.com/teamline"},
		{"mysql://u:" + testPassword + "/x@h/db", "mysql://***@h/db"},
		{"teamline:" + testPassword + "@tcp(db:3306)/teamline?parseTime=true", "teamline:***@tcp(db:3306)/teamline?parseTime=true"},
		{"u:pa/" + testPassword + "@tcp(db:3306)/teamline", "u:***@tcp(db:3306)/teamline"},
		{"root@tcp(db:3306)/teamline", "root@tcp(db:3306)/teamline"},
		{"u:" + testPassword + "@tcp(h:3306/db", "***@tcp(h:3306/db"},
		{"postgres://u:" + testPassword + "@h/db", "***@h/db"},
		{"/var/lib/teamline.db", "/var/lib/teamline.db"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := (Database{DSN: NewSecret(tt.dsn)}).Redacted(); got != tt.want {
			t.Errorf("Redacted(%q) = %q, want %q", tt.dsn, got, tt.want)
		}
	}
}
