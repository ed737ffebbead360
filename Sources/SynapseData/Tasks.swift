/// Images as stored on disk: uint8 pixels, channel-planar (C, H, W) per image, images back to
/// back; one label per image. Pixels stay uint8 until the device converts them (/255).
public struct ImageSet: Sendable, Equatable {
    public var pixels: [UInt8]
    /// Labels local to the task: 0 ..< classCount.
    public var labels: [Int32]
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(pixels: [UInt8], labels: [Int32], channels: Int, height: Int, width: Int) {
        precondition(pixels.count == labels.count * channels * height * width,
                     "\(pixels.count) pixels do not make \(labels.count) images of \(channels)x\(height)x\(width)")
        self.pixels = pixels; self.labels = labels
        self.channels = channels; self.height = height; self.width = width
    }

    /// Number of images.
    public var count: Int { labels.count }
    /// Values per image (C·H·W).
    public var imageSize: Int { channels * height * width }
}

/// One task of a continual-learning sequence: its own training and test images, labels local to
/// the task (0 ..< classCount). Which output units a task owns is the trainer's business
/// (multi-head: consecutive blocks; single-head: all share 0 ..< classCount).
public struct ContinualTask: Sendable {
    public var name: String
    public var classNames: [String]
    public var train: ImageSet
    public var test: ImageSet
    /// The data set's labels of this task's classes, in local-label order (e.g. [2, 3] for split
    /// MNIST's second task), or nil when the images were transformed (permuted MNIST), so that an
    /// outside evaluation cannot rebuild the task from the data set's labels alone.
    public var sourceClasses: [Int]?

    public init(name: String, classNames: [String], train: ImageSet, test: ImageSet) {
        self.name = name; self.classNames = classNames; self.train = train; self.test = test
    }

    public var classCount: Int { classNames.count }
}
