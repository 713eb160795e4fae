module skillrt.example/csv-to-json

go 1.22
