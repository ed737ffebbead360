import Testing
@testable import SynapseData

@Suite("Readers on files the tests write")
struct ReaderTests {
    @Test("CIFAR-10 folder round-trips labels and planar pixels; warns iff fewer than five batches",
          arguments: [(1, [1]), (2, [7, 33]), (3, [1, 7, 2, 5, 3]), (4, [33, 1, 1])] as [(UInt64, [Int])])
    func cifar10RoundTrip(seed: UInt64, batches: [Int]) throws {
        let folder = try TemporaryFolder("data")
        var random = Random(seed: seed)
        let data = try SyntheticCIFAR10(in: folder, batchSizes: batches, testSize: 7 + Int(seed), random: &random)
        let loaded = try CIFAR10.load(folder: folder.file("cifar-10-batches-bin"))
        #expect(loaded.train.pixels == data.trainPixels)
        #expect(loaded.train.labels == data.trainLabels.map(Int32.init))
        #expect(loaded.test.pixels == data.testPixels)
        #expect(loaded.test.labels == data.testLabels.map(Int32.init))
        #expect((loaded.train.channels, loaded.train.height, loaded.train.width) == (3, 32, 32))
        #expect(loaded.classNames == (0..<10).map { "class\($0)" })
        #expect(loaded.warnings.count == (batches.count < 5 ? 1 : 0))
        if batches.count < 5 {
            #expect(loaded.warnings[0].contains("data_batch_5.bin"))
        }
    }

    @Test("CIFAR-100 folder round-trips fine and coarse labels and pixels", arguments: [(UInt64(5), 1, 7), (6, 33, 1), (7, 257, 13)])
    func cifar100RoundTrip(seed: UInt64, trainSize: Int, testSize: Int) throws {
        let folder = try TemporaryFolder("data")
        var random = Random(seed: seed)
        let data = try SyntheticCIFAR100(in: folder, trainSize: trainSize, testSize: testSize, random: &random)
        let loaded = try CIFAR100.load(folder: folder.file("cifar-100-binary"))
        #expect(loaded.train.pixels == data.train.pixels)
        #expect(loaded.train.labels == data.train.fine.map(Int32.init))
        #expect(loaded.trainCoarseLabels == data.train.coarse.map(Int32.init))
        #expect(loaded.test.pixels == data.test.pixels)
        #expect(loaded.test.labels == data.test.fine.map(Int32.init))
        #expect(loaded.testCoarseLabels == data.test.coarse.map(Int32.init))
        #expect(loaded.fineClassNames.count == 100 && loaded.fineClassNames[99] == "fine99")
        #expect(loaded.coarseClassNames.count == 20 && loaded.coarseClassNames[19] == "coarse19")
    }

    @Test("IDX folder round-trips plain and gzip files of odd sizes",
          arguments: [(8, 1, 1, 28, 28, [false, false, false, false]),
                      (9, 7, 33, 28, 28, [true, true, true, true]),
                      (10, 257, 7, 5, 3, [true, false, false, true]),
                      (11, 33, 1, 1, 7, [false, true, true, false])] as [(UInt64, Int, Int, Int, Int, [Bool])])
    func idxRoundTrip(seed: UInt64, trainSize: Int, testSize: Int, rows: Int, columns: Int, gzip: [Bool]) throws {
        let folder = try TemporaryFolder("data")
        var random = Random(seed: seed)
        let data = try SyntheticIDX(in: folder, trainSize: trainSize, testSize: testSize, rows: rows, columns: columns,
                                    gzip: gzip, random: &random)
        let loaded = try IDX.loadMNIST(folder: folder.file("mnist"))
        #expect(loaded.train.pixels == data.trainPixels)
        #expect(loaded.train.labels == data.trainLabels.map(Int32.init))
        #expect(loaded.test.pixels == data.testPixels)
        #expect(loaded.test.labels == data.testLabels.map(Int32.init))
        #expect((loaded.train.channels, loaded.train.height, loaded.train.width) == (1, rows, columns))
        #expect(loaded.classNames == IDX.digitClassNames)
    }

    @Test("gzip decompresses what it compressed, including several concatenated members",
          arguments: [UInt64(12), 13, 14])
    func gzipRoundTrip(seed: UInt64) throws {
        var random = Random(seed: seed)
        // Sizes around the 1 MiB output chunk, and tiny ones.
        for size in [1, 7, 257, (1 << 20) + 33] {
            // Low-entropy bytes compress, as real images do; random ones exercise stored blocks.
            let bytes = seed == 12 ? random.bytes(size) : (0..<size).map { _ in UInt8(random.int(below: 4)) }
            #expect(try Gzip.decompress(Gzip.compress(bytes), path: "x.gz") == bytes)
            let cut = random.int(below: size)
            let members = Gzip.compress(Array(bytes[..<cut])) + Gzip.compress(Array(bytes[cut...]))
            #expect(try Gzip.decompress(members, path: "x.gz") == bytes)
        }
    }

    @Test("class-name files tolerate CRLF, blank lines and surrounding spaces")
    func classNamesTolerateLayout() throws {
        let names = try NameList.parse(Array("  a b \r\n\r\nc\r\n\n".utf8), path: "n.txt", expectedCount: 2)
        #expect(names == ["a b", "c"])
    }
}
