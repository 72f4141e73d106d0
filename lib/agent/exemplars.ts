// Worked examples for the few-shot prompts, written for this project. Each one carries what every method needs:
// a search-based (ReAct) solution, a one-paragraph reasoning (CoT) and the answer (IO). The snippets are short,
// factual and written by hand; the questions are not taken from any evaluation split.
import type { Action } from './actions';

export type TaskFamily = 'multihop' | 'yesno' | 'choice';

export interface ExampleStep {
  thought: string;
  action: Action;
  /** What the search returned; absent after the finishing step. */
  observation?: string;
}

export interface WorkedExample {
  question: string;
  steps: ExampleStep[];
  reasoning: string;
  answer: string;
}

/** A Reflexion example: a first trial that ends with a wrong answer, then a reflection that starts a better one. */
export interface ReflectionExample {
  question: string;
  failed: ExampleStep[];
  /** The first step of `retry` is the reflection turn (its thought is the reflection itself). */
  retry: ExampleStep[];
}

const search = (arg: string): Action => ({ type: 'search', arg });
const finish = (arg: string): Action => ({ type: 'finish', arg });

const MULTIHOP: WorkedExample[] = [
  {
    question: 'Which river flows past both the Taj Mahal and the Red Fort in Delhi?',
    steps: [
      {
        thought: 'I need the river beside the Taj Mahal, then to check whether the Red Fort in Delhi stands on the same river.',
        action: search('Taj Mahal river'),
        observation:
          'The Taj Mahal is an ivory-white marble mausoleum on the right bank of the river Yamuna in Agra, Uttar Pradesh, India. It was commissioned in 1631 by the Mughal emperor Shah Jahan.',
      },
      {
        thought: 'The Taj Mahal is on the Yamuna. Now I need the river beside the Red Fort in Delhi.',
        action: search('Red Fort Delhi river'),
        observation: 'The Red Fort is a historic fort in Old Delhi, India, built by Shah Jahan in the 17th century on the bank of the Yamuna river.',
      },
      { thought: 'Both monuments stand on the Yamuna.', action: finish('Yamuna') },
    ],
    reasoning: 'The Taj Mahal in Agra stands on the bank of the Yamuna, and the Red Fort in Delhi was also built beside the Yamuna. So the river is the Yamuna.',
    answer: 'Yamuna',
  },
  {
    question: 'The author of the novella "The Old Man and the Sea" was born in which U.S. state?',
    steps: [
      {
        thought: 'I need to find the author of "The Old Man and the Sea", then where the author was born.',
        action: search('The Old Man and the Sea'),
        observation:
          'The Old Man and the Sea is a 1952 novella by the American author Ernest Hemingway, about an aging Cuban fisherman who struggles with a giant marlin.',
      },
      {
        thought: 'The author is Ernest Hemingway. Now I need his birthplace.',
        action: search('Ernest Hemingway birthplace'),
        observation:
          'Ernest Miller Hemingway (July 21, 1899 – July 2, 1961) was an American novelist and short-story writer, born in Oak Park, Illinois, a suburb of Chicago.',
      },
      { thought: 'Hemingway was born in Oak Park, Illinois.', action: finish('Illinois') },
    ],
    reasoning: '"The Old Man and the Sea" was written by Ernest Hemingway, who was born in Oak Park, Illinois. So the answer is Illinois.',
    answer: 'Illinois',
  },
  {
    question: 'Who was born first, Marie Curie or Albert Einstein?',
    steps: [
      {
        thought: 'I need the birth dates of Marie Curie and Albert Einstein, then compare them.',
        action: search('Marie Curie born'),
        observation:
          'Marie Salomea Skłodowska-Curie (7 November 1867 – 4 July 1934) was a Polish and naturalised-French physicist and chemist who conducted pioneering research on radioactivity.',
      },
      {
        thought: 'Marie Curie was born in 1867. Now Albert Einstein.',
        action: search('Albert Einstein born'),
        observation:
          'Albert Einstein (14 March 1879 – 18 April 1955) was a German-born theoretical physicist, best known for developing the theory of relativity.',
      },
      { thought: 'Curie was born in 1867 and Einstein in 1879, so Marie Curie was born first.', action: finish('Marie Curie') },
    ],
    reasoning: 'Marie Curie was born in 1867 and Albert Einstein in 1879. So Marie Curie was born first.',
    answer: 'Marie Curie',
  },
  {
    question: 'In what year was the band that recorded the album "Abbey Road" formed?',
    steps: [
      {
        thought: 'I need the band that recorded "Abbey Road", then the year it was formed.',
        action: search('Abbey Road'),
        observation: 'Abbey Road is a street in the City of Westminster, London, best known for Abbey Road Studios, a recording studio opened in 1931.',
      },
      {
        thought: 'That result is about the street, not the album. I should search for the album itself.',
        action: search('Abbey Road album'),
        observation: 'Abbey Road is a studio album by the English rock band the Beatles, released on 26 September 1969 by Apple Records.',
      },
      {
        thought: 'The album is by the Beatles. Now I need the year the Beatles were formed.',
        action: search('The Beatles formed'),
        observation:
          'The Beatles were an English rock band formed in Liverpool in 1960, comprising John Lennon, Paul McCartney, George Harrison and Ringo Starr.',
      },
      { thought: 'The Beatles were formed in 1960.', action: finish('1960') },
    ],
    reasoning: '"Abbey Road" is an album by the Beatles, and the Beatles were formed in Liverpool in 1960. So the answer is 1960.',
    answer: '1960',
  },
  {
    question: 'Were Steven Spielberg and Francis Ford Coppola both born in the United States?',
    steps: [
      {
        thought: 'I need the birthplaces of Steven Spielberg and Francis Ford Coppola.',
        action: search('Steven Spielberg birthplace'),
        observation: 'Steven Allan Spielberg (born December 18, 1946) is an American filmmaker. He was born in Cincinnati, Ohio.',
      },
      {
        thought: 'Spielberg was born in Cincinnati, Ohio. Now Coppola.',
        action: search('Francis Ford Coppola birthplace'),
        observation: 'Francis Ford Coppola (born April 7, 1939) is an American filmmaker. He was born in Detroit, Michigan, to a family of Italian descent.',
      },
      { thought: 'Spielberg was born in Ohio and Coppola in Michigan, both in the United States.', action: finish('yes') },
    ],
    reasoning: 'Steven Spielberg was born in Cincinnati, Ohio, and Francis Ford Coppola in Detroit, Michigan. Both were born in the United States, so the answer is yes.',
    answer: 'yes',
  },
  {
    question: 'What is the atomic number of the chemical element named after the creator of the periodic table?',
    steps: [
      {
        thought: 'I need the creator of the periodic table, then the element named after that person.',
        action: search('creator of the periodic table'),
        observation:
          'Dmitri Ivanovich Mendeleev (1834–1907) was a Russian chemist who formulated the periodic law and published the first widely recognised periodic table of the elements in 1869.',
      },
      {
        thought: 'The creator is Dmitri Mendeleev. Now I need the element named after him and its atomic number.',
        action: search('element named after Mendeleev'),
        observation: 'Mendelevium is a synthetic chemical element with the symbol Md and atomic number 101. It is named after Dmitri Mendeleev.',
      },
      { thought: 'Mendelevium has atomic number 101.', action: finish('101') },
    ],
    reasoning: 'The periodic table was created by Dmitri Mendeleev, and the element named after him, mendelevium, has atomic number 101. So the answer is 101.',
    answer: '101',
  },
  {
    question: 'What is the capital of the country where the Danube river rises?',
    steps: [
      {
        thought: 'I need the country where the Danube rises, then its capital.',
        action: search('Danube source'),
        observation:
          'The Danube rises in the Black Forest of Germany, where the Brigach and Breg streams meet at Donaueschingen, and flows about 2,850 km to the Black Sea.',
      },
      { thought: 'The Danube rises in Germany, whose capital is Berlin.', action: finish('Berlin') },
    ],
    reasoning: 'The Danube rises in the Black Forest in Germany, and the capital of Germany is Berlin. So the answer is Berlin.',
    answer: 'Berlin',
  },
  {
    question: 'Which university did the Microsoft co-founder who was born in 1955 attend?',
    steps: [
      {
        thought: 'I need the co-founders of Microsoft, then which of them was born in 1955 and where that person studied.',
        action: search('Microsoft founders'),
        observation: 'Microsoft was founded by Bill Gates and Paul Allen on April 4, 1975, in Albuquerque, New Mexico.',
      },
      {
        thought: 'The co-founders are Bill Gates and Paul Allen. I should check Bill Gates first.',
        action: search('Bill Gates born'),
        observation:
          'William Henry Gates III (born October 28, 1955) is an American businessman. He enrolled at Harvard University in 1973 and left in 1975 to found Microsoft with Paul Allen.',
      },
      { thought: 'Bill Gates was born in 1955 and attended Harvard University.', action: finish('Harvard University') },
    ],
    reasoning:
      'Microsoft was co-founded by Bill Gates and Paul Allen. Bill Gates was born in 1955 and enrolled at Harvard University before leaving to found Microsoft. So the answer is Harvard University.',
    answer: 'Harvard University',
  },
];

const YESNO: WorkedExample[] = [
  {
    question: 'Would a dodo make a good pet today?',
    steps: [
      {
        thought: 'To keep a dodo as a pet, dodos would have to still exist. I should check.',
        action: search('dodo'),
        observation:
          'The dodo is an extinct flightless bird that was endemic to the island of Mauritius. The last widely accepted sighting of a dodo was in 1662.',
      },
      { thought: 'The dodo has been extinct since the 17th century, so nobody can keep one as a pet today.', action: finish('no') },
    ],
    reasoning: 'The dodo went extinct in the 17th century, so no one can keep one as a pet today. So the answer is no.',
    answer: 'no',
  },
  {
    question: 'Could William Shakespeare have written his plays on a typewriter?',
    steps: [
      {
        thought: 'I need to compare when Shakespeare lived with when typewriters became available.',
        action: search('William Shakespeare death'),
        observation: 'William Shakespeare (1564 – 23 April 1616) was an English playwright, poet and actor.',
      },
      {
        thought: 'Shakespeare died in 1616. Now I need when the typewriter appeared.',
        action: search('first commercially successful typewriter'),
        observation: 'The Sholes and Glidden typewriter, introduced in 1874, was the first commercially successful typewriter.',
      },
      { thought: 'Typewriters appeared more than 250 years after Shakespeare died.', action: finish('no') },
    ],
    reasoning: 'Shakespeare died in 1616, and the first commercially successful typewriter appeared in 1874. So he could not have used one, and the answer is no.',
    answer: 'no',
  },
  {
    question: 'Is a tomato a fruit in botanical terms?',
    steps: [
      {
        thought: 'I should check how botanists classify the tomato.',
        action: search('tomato botany fruit'),
        observation:
          'Botanically, a tomato is a fruit: a berry that develops from the ovary of the flower and contains the seeds, although it is usually eaten as a vegetable.',
      },
      { thought: 'Botanically the tomato is a berry, which is a fruit.', action: finish('yes') },
    ],
    reasoning: 'In botany a fruit is the seed-bearing part that develops from the flower’s ovary, and a tomato is such a berry. So the answer is yes.',
    answer: 'yes',
  },
  {
    question: 'Could Leonardo da Vinci and Michelangelo have met in person?',
    steps: [
      {
        thought: 'I need to know whether their lives overlapped and whether they were ever in the same place.',
        action: search('Leonardo da Vinci lifespan'),
        observation:
          'Leonardo da Vinci (15 April 1452 – 2 May 1519) was an Italian polymath of the High Renaissance who worked in Florence, Milan and Rome.',
      },
      {
        thought: 'Leonardo lived from 1452 to 1519. Now Michelangelo.',
        action: search('Michelangelo lifespan'),
        observation:
          'Michelangelo Buonarroti (6 March 1475 – 18 February 1564) was an Italian sculptor, painter and architect. Around 1504 he and Leonardo were both commissioned to paint battle murals for the Palazzo Vecchio in Florence.',
      },
      { thought: 'Their lives overlapped and both worked in Florence around 1504, so they could have met.', action: finish('yes') },
    ],
    reasoning: 'Leonardo (1452–1519) and Michelangelo (1475–1564) were alive at the same time and both worked in Florence around 1504. So the answer is yes.',
    answer: 'yes',
  },
  {
    question: 'Is the summit of Mount Everest higher than the cruising altitude of a typical airliner?',
    steps: [
      {
        thought: 'I need the height of Mount Everest and the usual cruising altitude of airliners.',
        action: search('Mount Everest height'),
        observation: "Mount Everest is Earth's highest mountain above sea level; its elevation is 8,849 m (29,032 ft).",
      },
      {
        thought: 'Everest is 8,849 m high. Now the cruising altitude.',
        action: search('airliner cruising altitude'),
        observation: 'Commercial jet airliners typically cruise at about 35,000 feet (roughly 10,700 m) above sea level.',
      },
      { thought: 'Airliners cruise at about 10,700 m, above the 8,849 m summit of Everest.', action: finish('no') },
    ],
    reasoning: 'Mount Everest is 8,849 m high, while airliners usually cruise around 10,700 m. The summit is lower, so the answer is no.',
    answer: 'no',
  },
  {
    question: 'Does water boil at a lower temperature at the top of Mount Everest than at sea level?',
    steps: [
      {
        thought: 'The boiling point of water depends on air pressure. I should check the boiling point at high altitude.',
        action: search('boiling point of water at high altitude'),
        observation:
          'Because air pressure falls with altitude, water boils at lower temperatures higher up; at the summit of Mount Everest it boils at about 70 °C, compared with 100 °C at sea level.',
      },
      { thought: 'Water boils at about 70 °C on Everest, lower than 100 °C at sea level.', action: finish('yes') },
    ],
    reasoning: 'Air pressure is much lower at the top of Mount Everest, so water boils there at about 70 °C instead of 100 °C. So the answer is yes.',
    answer: 'yes',
  },
  {
    question: 'Was Abraham Lincoln alive when the telephone was patented?',
    steps: [
      {
        thought: 'I need the date of Lincoln’s death and the date of the telephone patent.',
        action: search('Abraham Lincoln death'),
        observation: 'Abraham Lincoln, the 16th president of the United States, was assassinated by John Wilkes Booth and died on April 15, 1865.',
      },
      {
        thought: 'Lincoln died in 1865. Now the telephone patent.',
        action: search('telephone patent year'),
        observation: 'Alexander Graham Bell was awarded U.S. patent 174,465 for the telephone on March 7, 1876.',
      },
      { thought: 'The telephone was patented in 1876, eleven years after Lincoln died.', action: finish('no') },
    ],
    reasoning: 'Lincoln died in 1865 and the telephone was patented in 1876. So he was not alive then, and the answer is no.',
    answer: 'no',
  },
  {
    question: "Is the Pacific Ocean larger than all of Earth's land area combined?",
    steps: [
      {
        thought: 'I need the area of the Pacific Ocean and the total land area of Earth.',
        action: search('Pacific Ocean area'),
        observation:
          "The Pacific Ocean is the largest of Earth's oceans, covering about 165 million square kilometres, more than all of Earth's land area together.",
      },
      { thought: 'The Pacific covers more area than all the land on Earth.', action: finish('yes') },
    ],
    reasoning: "The Pacific Ocean covers about 165 million square kilometres, while Earth's land totals about 149 million. So the answer is yes.",
    answer: 'yes',
  },
];

const CHOICE: WorkedExample[] = [
  {
    question: "Question: Which gas makes up the largest share of Earth's atmosphere by volume?\nA. Oxygen\nB. Carbon dioxide\nC. Nitrogen\nD. Argon",
    steps: [
      {
        thought: 'I should check the composition of the atmosphere by volume.',
        action: search("composition of Earth's atmosphere by volume"),
        observation: 'By volume, dry air contains about 78% nitrogen, 21% oxygen, 0.93% argon and 0.04% carbon dioxide.',
      },
      { thought: 'Nitrogen is about 78% of the atmosphere, the largest share. That is option C.', action: finish('C') },
    ],
    reasoning: 'Dry air is about 78% nitrogen and 21% oxygen by volume, with argon and carbon dioxide far smaller. So the answer is C.',
    answer: 'C',
  },
  {
    question: 'Question: What is the derivative of sin(x) with respect to x?\nA. cos(x)\nB. -cos(x)\nC. -sin(x)\nD. tan(x)',
    steps: [{ thought: 'The derivative of sin(x) is cos(x), which is option A. No search is needed.', action: finish('A') }],
    reasoning: 'By the standard rule of differentiation, d/dx sin(x) = cos(x). So the answer is A.',
    answer: 'A',
  },
  {
    question: 'Question: Who wrote the economic treatise "The Wealth of Nations"?\nA. John Maynard Keynes\nB. Adam Smith\nC. Karl Marx\nD. David Ricardo',
    steps: [
      {
        thought: 'I should confirm the author of "The Wealth of Nations".',
        action: search('The Wealth of Nations author'),
        observation:
          'An Inquiry into the Nature and Causes of the Wealth of Nations is a book by the Scottish economist and philosopher Adam Smith, first published in 1776.',
      },
      { thought: 'The author is Adam Smith, option B.', action: finish('B') },
    ],
    reasoning: '"The Wealth of Nations" was published in 1776 by the Scottish economist Adam Smith. So the answer is B.',
    answer: 'B',
  },
  {
    question:
      'Question: In eukaryotic cells, where does the citric acid cycle take place?\nA. Nucleus\nB. Ribosome\nC. Golgi apparatus\nD. Mitochondrial matrix',
    steps: [
      {
        thought: 'I should check where the citric acid cycle happens in eukaryotic cells.',
        action: search('where does the citric acid cycle take place'),
        observation:
          'In eukaryotic cells the citric acid cycle (Krebs cycle) takes place in the matrix of the mitochondria; in prokaryotes it occurs in the cytoplasm.',
      },
      { thought: 'In eukaryotes it happens in the mitochondrial matrix, option D.', action: finish('D') },
    ],
    reasoning: 'The citric acid cycle is part of aerobic respiration, which in eukaryotic cells runs in the matrix of the mitochondria. So the answer is D.',
    answer: 'D',
  },
  {
    question:
      "Question: The Peace of Westphalia (1648) ended which conflict?\nA. The Hundred Years' War\nB. The Thirty Years' War\nC. The War of the Spanish Succession\nD. The Seven Years' War",
    steps: [
      {
        thought: 'I should check which war the Peace of Westphalia ended.',
        action: search('Peace of Westphalia 1648'),
        observation:
          "The Peace of Westphalia is the collective name for the treaties signed in Osnabrück and Münster in 1648 that ended the Thirty Years' War and the Eighty Years' War.",
      },
      { thought: "Of the options, the Peace of Westphalia ended the Thirty Years' War, option B.", action: finish('B') },
    ],
    reasoning: "The treaties of 1648 signed in Osnabrück and Münster ended the Thirty Years' War; the other wars are earlier or later. So the answer is B.",
    answer: 'B',
  },
  {
    question: 'Question: What is the worst-case time complexity of binary search on a sorted array of n elements?\nA. O(1)\nB. O(log n)\nC. O(n)\nD. O(n log n)',
    steps: [{ thought: 'Binary search halves the interval at every comparison, so it needs about log2(n) comparisons: O(log n), option B.', action: finish('B') }],
    reasoning: 'Each comparison in binary search halves the remaining interval, so at most about log2(n) comparisons are needed. So the answer is B.',
    answer: 'B',
  },
  {
    question: 'Question: Which amendment to the United States Constitution abolished slavery?\nA. First\nB. Fifth\nC. Thirteenth\nD. Nineteenth',
    steps: [
      {
        thought: 'I should confirm which amendment abolished slavery.',
        action: search('amendment that abolished slavery in the United States'),
        observation:
          'The Thirteenth Amendment to the United States Constitution, ratified in 1865, abolished slavery and involuntary servitude, except as punishment for a crime.',
      },
      { thought: 'It is the Thirteenth Amendment, option C.', action: finish('C') },
    ],
    reasoning: 'Slavery was abolished by the Thirteenth Amendment, ratified in 1865. So the answer is C.',
    answer: 'C',
  },
  {
    question: 'Question: A car travels 150 km in 2.5 hours at a constant speed. What is its speed?\nA. 50 km/h\nB. 60 km/h\nC. 65 km/h\nD. 75 km/h',
    steps: [{ thought: 'Speed is distance over time: 150 km / 2.5 h = 60 km/h, option B.', action: finish('B') }],
    reasoning: 'Speed is distance divided by time: 150 km / 2.5 h = 60 km/h. So the answer is B.',
    answer: 'B',
  },
];

export const WORKED_EXAMPLES: Record<TaskFamily, readonly WorkedExample[]> = {
  multihop: MULTIHOP,
  yesno: YESNO,
  choice: CHOICE,
};

export const REFLECTION_EXAMPLES: Record<TaskFamily, ReflectionExample> = {
  multihop: {
    question: 'In which country was the composer of the opera "Carmen" born?',
    failed: [{ thought: 'The opera Carmen is set in Seville, Spain, so its composer was probably Spanish.', action: finish('Spain') }],
    retry: [
      {
        thought:
          'I guessed from where the opera is set instead of finding out who composed it. This time I should first search for the composer and then look up where he was born.',
        action: search('Carmen opera composer'),
        observation: 'Carmen is an opera in four acts by the French composer Georges Bizet, first performed at the Opéra-Comique in Paris in 1875.',
      },
      {
        thought: 'The composer is Georges Bizet. Now I need his birthplace.',
        action: search('Georges Bizet birthplace'),
        observation: 'Georges Bizet (25 October 1838 – 3 June 1875) was a French composer of the Romantic era, born in Paris.',
      },
      { thought: 'Bizet was born in Paris, France.', action: finish('France') },
    ],
  },
  yesno: {
    question: 'Could someone born in 1990 have voted in the 2008 United States presidential election?',
    failed: [
      {
        thought: 'Someone born in 1990 would have been 17 for most of 2008, below the voting age of 18.',
        action: finish('no'),
      },
    ],
    retry: [
      {
        thought:
          'I assumed the birthday came after the election. Anyone who had turned 18 by election day could vote, so I should look up the date of the election.',
        action: search('2008 United States presidential election date'),
        observation: 'The 2008 United States presidential election was held on Tuesday, November 4, 2008.',
      },
      {
        thought: 'Someone born between January 1 and November 4, 1990 was already 18 on election day, so they could have voted.',
        action: finish('yes'),
      },
    ],
  },
  choice: {
    question: 'Question: Which planet in the Solar System has the most confirmed moons?\nA. Jupiter\nB. Saturn\nC. Uranus\nD. Neptune',
    failed: [{ thought: 'Jupiter is the largest planet, so it probably has the most moons.', action: finish('A') }],
    retry: [
      {
        thought: 'I relied on the planet’s size instead of checking the moon counts, which change as new moons are confirmed. I should search for the current counts.',
        action: search('planet with the most confirmed moons'),
        observation:
          'Saturn has the most confirmed moons of any planet in the Solar System, well ahead of Jupiter, after dozens of small moons were confirmed in 2023.',
      },
      { thought: 'Saturn has the most confirmed moons, which is option B.', action: finish('B') },
    ],
  },
};
