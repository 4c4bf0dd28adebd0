package offline

// Object-store warehouses (s3://, s3a://, s3n://) need iceberg-go's S3 file IO
// registered; without it a REST catalog vending s3:// locations fails at the
// first read with "IO scheme not registered".
import _ "github.com/apache/iceberg-go/io/gocloud/s3"
