package rest_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }
