// Array's withUnsafeBytes only rethrows untyped errors; this keeps the typed error.

@inline(__always)
func withBytes<R, E: Error>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    let result: Result<R, E> = array.withUnsafeBytes { raw in
        do throws(E) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}

@inline(__always)
func withBytes<R, E: Error>(_ slice: ArraySlice<UInt8>, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R
{
    let result: Result<R, E> = slice.withUnsafeBytes { raw in
        do throws(E) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}
