export {
  type EncoderConfig,
  type EncoderConfigOverrides,
  type EncoderModelType,
  encoderConfig,
  numLabels,
  type ProblemType,
  problemTypeOf,
  readEncoderConfig,
  withHead,
} from './config.js';
export {
  EncoderForSequenceClassification,
  EncoderForSequenceClassification as BertForSequenceClassification,
  EncoderForSequenceClassification as RobertaForSequenceClassification,
  EncoderLayer,
  EncoderModel,
  type EncoderModelOptions,
  MASK_VALUE,
  type SequenceClassifierInputs,
  type SequenceClassifierOutput,
} from './model.js';
export {
  AutoModelForSequenceClassification,
  type EncoderFromPretrainedOptions,
  type LoadingInfo,
  loadEncoderWeights,
  saveEncoderClassifier,
} from './pretrained.js';
