//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#endif

/// User names from the password database, for messages and listings that name a uid.
public enum UserNames {
    /// The user name of `uid`, or nil when the password database has none.
    /// - Parameter uid: the user id.
    public static func name(of uid: UInt32) -> String? {
        // pw_name points into the buffer: it is read while the buffer is alive.
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 4096) { buffer in
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            guard let base = buffer.baseAddress, getpwuid_r(uid, &entry, base, buffer.count, &result) == 0, result != nil,
                let name = entry.pw_name
            else { return nil }
            return String(cString: name)
        }
    }
}
