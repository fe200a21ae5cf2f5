module example.com/legacygo

go 1.19
