package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/teamline/teamline/directory"
)

func TestClassifyMySQL(t *testing.T) {
	for _, tc := range []struct {
		err  *mysql.MySQLError
		kind errKind
		key  string
	}{
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'alice' for key 'users_username'"}, errUnique, "users_username"},
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'alice' for key 'users.users_username'"}, errUnique, "users_username"},
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'x' for key 'evil' for key 'rules_name'"}, errUnique, "rules_name"},
		{&mysql.MySQLError{Number: 1451, Message: "Cannot delete or update a parent row: a foreign key constraint fails (`db`.`numbers`, CONSTRAINT `numbers_owner_fk` FOREIGN KEY (`owner_id`) REFERENCES `users` (`id`))"}, errForeignKey, "numbers_owner_fk"},
		{&mysql.MySQLError{Number: 1452, Message: "odd"}, errForeignKey, ""},
		{&mysql.MySQLError{Number: 1406, Message: "Data too long for column 'username' at row 1"}, errTooLong, "username"},
		{&mysql.MySQLError{Number: 1146, Message: "Table 'x' doesn't exist"}, errOther, ""},
		{&mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock; try restarting transaction"}, errBusy, ""},
		{&mysql.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded; try restarting transaction"}, errBusy, ""},
	} {
		kind, key := classify(fmt.Errorf("wrapped: %w", tc.err))
		if kind != tc.kind || key != tc.key {
			t.Errorf("%q: got %v %q, want %v %q", tc.err.Message, kind, key, tc.kind, tc.key)
		}
	}
	err := writeErr(&mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'a' for key 'users_username'"}, `user "a"`)
	if !errors.Is(err, directory.ErrConflict) || err.Error() != `conflict: user "a": username already taken` {
		t.Errorf("writeErr = %v", err)
	}
	deadlock := &mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock"}
	err = writeErr(deadlock, "lead 7")
	if !errors.Is(err, ErrBusy) || !errors.Is(err, directory.ErrUnavailable) || !errors.Is(err, deadlock) ||
		err.Error() != "temporarily unavailable: lead 7: the database was busy with another change; try again" {
		t.Errorf("writeErr(deadlock) = %v", err)
	}
	if again := busyErr(err, "transaction"); again != err {
		t.Errorf("busyErr wrapped twice: %v", again)
	}
	if kind, _ := classify(errors.New("plain")); kind != errOther {
		t.Errorf("plain error: %v", kind)
	}
}
