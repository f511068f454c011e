package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse/store/docdb/sqlite"
)

// A data directory's database is held, for the life of the process, by
// every command that uses it: serve, dispatch, migrate, createsuperuser
// and backup share it, as they may run side by side on one file; copy
// holds it alone, since it reads or rewrites the whole database and
// anything else writing meanwhile would leave the two sides different.
// The hold is an advisory lock (flock) on <data>/<database>.lock: the
// system lets go of it when the process ends, however it ends, so a
// crashed gateway leaves nothing stale behind, and the file itself is
// never removed (removing it would let two processes lock two files).

// errDataInUse is returned when the lock is held the other way.
var errDataInUse = errors.New("in use")

// dataLock is a hold on one data directory's database.
type dataLock struct{ f *os.File }

// lockFile is where the database of dir is locked.
func lockFile(dir, database string) string {
	return filepath.Join(dir, database+".lock")
}

// holdData takes the shared hold on the database in dir. It refuses while
// copy holds it.
func holdData(dir, database string) (*dataLock, error) {
	l, err := lockData(dir, database, false)
	if errors.Is(err, errDataInUse) {
		return nil, fmt.Errorf("data directory %s: gatehouse copy is using database %q; start again once it is done", dir, database)
	}
	return l, err
}

// holdDataAlone takes the exclusive hold copy needs; it refuses while any
// other Gatehouse process uses the database.
func holdDataAlone(dir, database string) (*dataLock, error) {
	l, err := lockData(dir, database, true)
	if errors.Is(err, errDataInUse) {
		return nil, fmt.Errorf("data directory %s: database %q is in use by another Gatehouse process (a gateway, a dispatcher, a backup or a copy); stop it first, as a copy of a database being written would not match its source", dir, database)
	}
	return l, err
}

// lockData creates the directory as the store would, then locks.
func lockData(dir, database string, exclusive bool) (*dataLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	f, err := os.OpenFile(lockFile(dir, database), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	if err := flock(f, exclusive); err != nil {
		_ = f.Close()
		if errors.Is(err, errDataInUse) {
			return nil, err
		}
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	return &dataLock{f: f}, nil
}

// release lets go of the hold before the process ends.
func (l *dataLock) release() {
	if l != nil {
		_ = l.f.Close()
	}
}

// requireData refuses a data directory that holds no Gatehouse database:
// one that does not exist, or has neither the database file nor the
// FerretDB-era file the store imports. Opening the store would create an
// empty one there, which is right for serve and wrong for a command that
// reads what is there (a mistyped --from would copy nothing and succeed).
func requireData(dir, database, flag string) error {
	info, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s %s: no such directory", flag, dir)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", flag, dir, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("%s %s: not a directory (a data directory holds %s)", flag, dir, database+sqlite.FileExtension)
	}
	for _, name := range []string{database + sqlite.FileExtension, database + ".sqlite"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%s %s holds no Gatehouse data: there is no %s in it (is the directory or --database right?)", flag, dir, database+sqlite.FileExtension)
}
