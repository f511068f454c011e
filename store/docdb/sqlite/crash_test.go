package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/docdb/sqlite"
)

// writerEnv names the data directory of the writer process; the test
// binary runs as that process when it is set.
const writerEnv = "GATEHOUSE_CRASH_WRITER_DIR"

// A process killed with SIGKILL in the middle of a burst of writes loses
// no write it had answered as done, and leaves a file that passes SQLite's
// integrity check.
func TestKilledWriterLosesNothingAnswered(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriter$")
	cmd.Env = append(os.Environ(), writerEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	answered := []string{}
	lines := bufio.NewScanner(out)
	for lines.Scan() && len(answered) < 2000 {
		if id, ok := strings.CutPrefix(lines.Text(), "done "); ok {
			answered = append(answered, id)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(answered) < 2000 {
		t.Fatalf("the writer answered only %d writes", len(answered))
	}

	path := filepath.Join(dir, "crash"+sqlite.FileExtension)
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity check: %q %v", check, err)
	}
	_ = raw.Close()

	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Config{Dir: dir, Database: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var ids []bson.Raw
	if err := db.Collection("burst").Find(ctx, nil, docdb.FindOptions{Projection: bson.D{{Key: "_id", Value: 1}}}, &ids); err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, raw := range ids {
		stored[raw.Lookup("_id").StringValue()] = true
	}
	for _, id := range answered {
		if !stored[id] {
			t.Errorf("write %s was answered, then lost", id)
		}
	}
	t.Logf("%d writes answered before the kill, %d in the file", len(answered), len(stored))
}

// TestCrashWriter is the writer process: four goroutines insert and update
// documents as fast as they can, printing each write once it returns.
func TestCrashWriter(t *testing.T) {
	dir := os.Getenv(writerEnv)
	if dir == "" {
		t.Skip("the writer process of TestKilledWriterLosesNothingAnswered")
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Config{Dir: dir, Database: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	coll := db.Collection("burst")
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%06d", w, i)
				if _, err := coll.Insert(ctx, bson.D{{Key: "_id", Value: id}, {Key: "at", Value: time.Now()}}); err != nil {
					panic(err)
				}
				if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}}, false); err != nil {
					panic(err)
				}
				mu.Lock()
				fmt.Println("done " + id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
