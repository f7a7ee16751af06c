/// Vectorized elementary functions on `SIMD16<Float>`: the transformer's exp (softmax) and erf
/// (GELU) run per element over every activation, and the C library's scalar versions would
/// dominate the forward pass.
typealias Vec = SIMD16<Float>

enum SIMDMath {
    /// e^x with a relative error below 2e-7 over the float range; underflows to 0 below −87.3.
    @inline(__always)
    static func exp(_ x: Vec) -> Vec {
        let x = x.clamped(lowerBound: Vec(repeating: -87.3), upperBound: Vec(repeating: 88.3))
        // x = n·ln2 + r with |r| ≤ ln2/2; n rounded to nearest by adding 1.5·2^23.
        let magic = Vec(repeating: 12_582_912)
        let shifted = magic.addingProduct(x, Vec(repeating: 1.442_695_04))
        let n = shifted - magic
        var r = x.addingProduct(n, Vec(repeating: -0.693_145_751_953_125))
        r = r.addingProduct(n, Vec(repeating: -1.428_606_765_330_187e-6))
        // Taylor series of e^r to degree 7 (error < 5e-9 on the reduced range).
        var p = Vec(repeating: 1.0 / 5040)
        p = Vec(repeating: 1.0 / 720).addingProduct(p, r)
        p = Vec(repeating: 1.0 / 120).addingProduct(p, r)
        p = Vec(repeating: 1.0 / 24).addingProduct(p, r)
        p = Vec(repeating: 1.0 / 6).addingProduct(p, r)
        p = Vec(repeating: 0.5).addingProduct(p, r)
        p = Vec(repeating: 1).addingProduct(p, r)
        p = Vec(repeating: 1).addingProduct(p, r)
        // 2^n from the integer in the low mantissa bits of `shifted`.
        let bits = unsafeBitCast(shifted, to: SIMD16<Int32>.self)
        let scale = unsafeBitCast((bits &- 0x4B40_0000 &+ 127) &<< 23, to: Vec.self)
        return p * scale
    }

    /// erf(x), absolute error below 3e-7 (Abramowitz & Stegun 7.1.26 with the vectorized exp).
    @inline(__always)
    static func erf(_ x: Vec) -> Vec {
        let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
        let a = unsafeBitCast(bits & 0x7FFF_FFFF, to: Vec.self)
        let t = 1 / Vec(repeating: 1).addingProduct(a, Vec(repeating: 0.327_591_1))
        var p = Vec(repeating: 1.061_405_429)
        p = Vec(repeating: -1.453_152_027).addingProduct(p, t)
        p = Vec(repeating: 1.421_413_741).addingProduct(p, t)
        p = Vec(repeating: -0.284_496_736).addingProduct(p, t)
        p = Vec(repeating: 0.254_829_592).addingProduct(p, t)
        let e: Vec = exp(-(a * a))
        let y: Vec = Vec(repeating: 1) - p * t * e
        // Restore the sign: erf is odd.
        let signBit = bits & 0x8000_0000
        return unsafeBitCast(unsafeBitCast(y, to: SIMD16<UInt32>.self) | signBit, to: Vec.self)
    }

    /// GELU with the exact (erf) formulation BERT uses: x/2 · (1 + erf(x/√2)).
    @inline(__always)
    static func gelu(_ x: Vec) -> Vec {
        let half: Vec = 0.5 * x
        return half * (Vec(repeating: 1) + erf(x * 0.707_106_781_186_547_5))
    }
}
